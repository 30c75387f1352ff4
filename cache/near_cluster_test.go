package cache_test

import (
	"context"
	"encoding/json"
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
// promoted replica from then on. Another instance writes on the promoted
// replica from the moment it takes writes: every write it acknowledges
// reaches the tier (its invalidation applied within 2 s, not only once the
// slot map is read again, nor never), and no read that begins after it was
// applied is served the value before from memory. Twice, there and back.
// Beside it, a Cache without a near tier reads Redis: the old master answers
// reads until it hears of the promotion, which both readers may see (logged,
// not the tier's doing).
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
	plainReader := newCache(t, cl.Client(t), cache.Options{Prefix: "mf:"})
	const key = "a"
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	version := 0
	for round := range 2 {
		victim := cl.MasterOf("mf:" + key)
		promoted := cl.ReplicaOf(victim)
		// The writer talks to the promoted replica alone: its SETs are
		// refused (MOVED) until the promotion, and acknowledged from its
		// first moment as a master.
		writer := promoted.Client(t)
		nearHit(t, reader, key, func(context.Context, string) (product, error) { return product{ID: key}, nil })
		failover := make(chan error, 1)
		go func() { failover <- promoted.Client(t).Do(ctx, "cluster", "failover").Err() }()
		// The latest a read that began after a write's acknowledgement, and
		// before its invalidation was applied, was served the value before:
		// from memory, from Redis through the near reader, from Redis
		// through the plain one; and the longest an invalidation took.
		var fromMemory, fromRedis, plain, delivery time.Duration
		var promotedAt time.Time // the first write acknowledged
		for start := time.Now(); promotedAt.IsZero() || time.Since(promotedAt) < time.Second; {
			if promotedAt.IsZero() && time.Since(start) > 30*time.Second {
				t.Fatalf("round %d: the promoted replica took no write in 30 s", round)
			}
			version++
			messages := near.Stats().Messages
			value, err := json.Marshal(product{ID: key, Price: float64(version)})
			if err != nil {
				t.Fatal(err)
			}
			if err := writer.Set(ctx, "mf:"+key, value, 0).Err(); err != nil {
				time.Sleep(100 * time.Microsecond) // a replica still
				continue
			}
			acked := time.Now()
			if promotedAt.IsZero() {
				promotedAt = acked
			}
			for _, c := range []*cache.Cache[product]{reader, plainReader} {
				for {
					applied := near.Stats().Messages > messages
					began := time.Now()
					hits := c.Stats().NearHits
					p, err := c.Get(ctx, key, never)
					if err != nil {
						if time.Since(acked) > 10*time.Second {
							t.Fatalf("round %d: no read for 10 s: %v", round, err)
						}
						continue
					}
					if p.Price >= float64(version) {
						break
					}
					late := began.Sub(acked)
					switch {
					case c == plainReader:
						plain = max(plain, late)
					case c.Stats().NearHits == hits:
						fromRedis = max(fromRedis, late)
					case applied:
						t.Fatalf("round %d: a read begun %v after a write's acknowledgement, its invalidation applied, served the value before from memory; %+v",
							round, late.Round(time.Microsecond), near.Stats())
					default:
						fromMemory = max(fromMemory, late)
					}
				}
			}
			for near.Stats().Messages == messages {
				if time.Since(acked) > 2*time.Second {
					t.Fatalf("round %d: the invalidation of a write acknowledged %v after the promotion never reached the tier; %+v",
						round, acked.Sub(promotedAt).Round(time.Millisecond), near.Stats())
				}
				time.Sleep(100 * time.Microsecond)
			}
			delivery = max(delivery, time.Since(acked))
		}
		if err := <-failover; err != nil {
			t.Fatalf("CLUSTER FAILOVER: %v", err)
		}
		t.Logf("round %d: %d writes, each invalidation applied within %v of the acknowledgement; the latest read served an overwritten value after it: from memory %v (before the invalidation), from Redis %v (near reader) and %v (plain reader); %+v",
			round, version, delivery.Round(time.Microsecond), fromMemory.Round(time.Microsecond), fromRedis.Round(time.Microsecond), plain.Round(time.Microsecond), near.Stats())
		cl.WaitSettled(t, 30*time.Second)
	}
}
