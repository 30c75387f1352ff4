package cache_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// keyPerMaster returns one key of the Cache (without prefix) per master.
func keyPerMaster(cl *redistest.Cluster, prefix string) map[*redistest.Server]string {
	out := map[*redistest.Server]string{}
	for i := 0; len(out) < len(cl.Masters()); i++ {
		k := itoa(i)
		if m := cl.MasterOf(prefix + k); out[m] == "" {
			out[m] = k
		}
	}
	return out
}

// On a 3-master cluster, with Options.Near alone over a redisguard client,
// keys of every shard are served from memory, and another instance's write
// of each is seen within 50 ms at p99.
func TestNearOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	rdb := guardedReady(t, redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	reader, near := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "c:"})
	if s := near.Stats(); s.Conns != 3 || s.ConnsUp != 3 {
		t.Fatalf("near stats %+v: want one invalidation connection per master", s)
	}
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "c:"})
	measureWriteSeen(t, "cluster, keys on 3 shards", reader, writer, 40, slices.Collect(maps.Values(keyPerMaster(cl, "c:")))...)
	reader.Close()
}

// A master killed and its replica promoted: its keys are not served from
// memory while its connection is down, the other shards' keys still are, and
// a write made on the promoted replica is seen within 1 s of it.
func TestNearClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	ctx := context.Background()
	rdb := guardedReady(t, redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	reader, near := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "fo:"})
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "fo:"})
	keys := keyPerMaster(cl, "fo:")
	victim := cl.Masters()[0]
	key := keys[victim]
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	old := product{ID: key, Price: 1}
	if err := writer.Set(ctx, key, old); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := writer.Set(ctx, k, product{ID: k}); err != nil && k != key {
			t.Fatal(err)
		}
		nearHit(t, reader, k, never)
	}
	nearHit(t, reader, key, never)
	victim.Kill()
	redistest.Eventually(t, 5*time.Second, "the victim's connection down", func() bool {
		s := near.Stats()
		return s.ConnsUp == s.Conns-1
	})
	for m, k := range keys {
		if m != victim {
			nearHit(t, reader, k, never) // the other shards are still served from memory
		}
	}
	cl.WaitFailover(t, victim, 30*time.Second)
	// Another instance, started after the failover, writes on the promoted
	// replica.
	writer = newCache(t, cl.Client(t), cache.Options{Prefix: "fo:"})
	seen := seenAfterFailover(t, reader, writer, key, old, product{ID: key, Price: 2})
	t.Logf("failover: the write on the promoted replica seen after %v; %+v", seen.Round(time.Microsecond), near.Stats())
	waitServing(t, near)
	nearHit(t, reader, key, never)
}

// A manual failover (CLUSTER FAILOVER) leaves the old master running, and
// its invalidation connection open, while its slots' writes go to the
// promoted replica from then on: a write acknowledged by the new master is
// seen from memory as soon as one on any master is, not when the slot map is
// read again. Twice, there and back.
func TestNearClusterManualFailoverServesNoOverwrittenValue(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	ctx := context.Background()
	reader, near := nearReader(t, cl.Client(t), cache.NearOptions{}, cache.Options{Prefix: "mf:"})
	redistest.Eventually(t, 5*time.Second, "one invalidation connection per master and per replica", func() bool {
		s := near.Stats()
		return s.Conns == 6 && s.ConnsUp == 6
	})
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "mf:"})
	const key, grace = "a", 50 * time.Millisecond
	version := 0
	for round := range 2 {
		victim := cl.MasterOf("mf:" + key)
		promoted := cl.ReplicaOf(victim)
		nearHit(t, reader, key, func(context.Context, string) (product, error) { return product{ID: key}, nil })
		failover := make(chan error, 1)
		go func() { failover <- promoted.Client(t).Do(ctx, "cluster", "failover").Err() }()
		var stalest time.Duration // the latest a read that began after a write's acknowledgement served the value before
		var promotedAt time.Time
		for promotedAt.IsZero() || time.Since(promotedAt) < time.Second {
			if promotedAt.IsZero() && cl.MasterOf("mf:"+key) == promoted {
				promotedAt = time.Now()
			}
			version++
			if err := writer.Set(ctx, key, product{ID: key, Price: float64(version)}); err != nil {
				continue // not acknowledged: a later read may see it or not
			}
			acked := time.Now()
			for {
				began := time.Now()
				p, err := reader.Get(ctx, key, func(context.Context, string) (product, error) {
					return product{}, errors.New("the loader ran")
				})
				if err != nil {
					continue
				}
				if p.Price >= float64(version) {
					break
				}
				stalest = max(stalest, began.Sub(acked))
				if began.Sub(acked) > grace {
					t.Fatalf("round %d: a read begun %v after a write's acknowledgement (%v after the promotion) served the value before; %+v",
						round, began.Sub(acked).Round(time.Microsecond), acked.Sub(promotedAt).Round(time.Millisecond), near.Stats())
				}
			}
		}
		if err := <-failover; err != nil {
			t.Fatalf("CLUSTER FAILOVER: %v", err)
		}
		t.Logf("round %d: %d writes; the latest a read served an overwritten value: %v after the write's acknowledgement; %+v",
			round, version, stalest.Round(time.Microsecond), near.Stats())
		cl.WaitSettled(t, 30*time.Second)
	}
}
