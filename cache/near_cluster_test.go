package cache_test

import (
	"context"
	"errors"
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
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	near := newNear(t, cache.NearOptions{})
	reader := newCache(t, rdb, cache.Options{Prefix: "c:", Near: near})
	waitServing(t, near)
	if s := near.Stats(); s.Conns != 3 || s.ConnsUp != 3 {
		t.Fatalf("near stats %+v: want one invalidation connection per master", s)
	}
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "c:"})
	var all []time.Duration
	for _, key := range keyPerMaster(cl, "c:") {
		all = append(all, writeSeenDelays(t, reader, writer, key, 40)...)
	}
	slices.Sort(all)
	p50, p99 := all[len(all)/2], all[len(all)*99/100]
	t.Logf("cluster, keys on 3 shards: another instance's SET seen after p50 %v, p99 %v, max %v; %+v",
		p50.Round(time.Microsecond), p99.Round(time.Microsecond), all[len(all)-1].Round(time.Microsecond), near.Stats())
	if p99 > 50*time.Millisecond {
		t.Fatalf("p99 %v: want another instance's write seen within 50 ms", p99)
	}
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
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	near := newNear(t, cache.NearOptions{})
	reader := newCache(t, rdb, cache.Options{Prefix: "fo:", Near: near})
	waitServing(t, near)
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
	redistest.Eventually(t, 5*time.Second, "the victim's connection down", func() bool { return near.Stats().ConnsUp == 2 })
	for m, k := range keys {
		if m != victim {
			nearHit(t, reader, k, never) // the other shards are still served from memory
		}
	}
	cl.WaitFailover(t, victim, 30*time.Second)
	// Another instance, started after the failover, writes on the promoted
	// replica.
	writer = newCache(t, cl.Client(t), cache.Options{Prefix: "fo:"})
	updated := product{ID: key, Price: 2}
	redistest.Eventually(t, 10*time.Second, "the write on the promoted replica", func() bool {
		return writer.Set(ctx, key, updated) == nil
	})
	written := time.Now()
	var seen time.Duration
	for time.Since(written) < 3*time.Second {
		p, err := reader.Get(ctx, key, func(context.Context, string) (product, error) { return updated, nil })
		if err == nil && p == updated && seen == 0 {
			seen = time.Since(written)
		}
		if err == nil && p == old && seen != 0 {
			t.Fatalf("the value from before the failover served again %v after the write", time.Since(written))
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("failover: the write on the promoted replica seen after %v; %+v", seen.Round(time.Microsecond), near.Stats())
	if seen == 0 || seen > time.Second {
		t.Fatalf("the write on the promoted replica seen after %v: want within 1 s", seen)
	}
	waitServing(t, near)
	nearHit(t, reader, key, never)
}
