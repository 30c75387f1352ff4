package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// On a Sentinel group, with Options.Near alone over a redisguard client,
// another instance's write is seen within 50 ms at p99; after the master is
// killed and a replica promoted, the near tier follows the new master: a
// write made there is seen within 1 s, and nothing from before is served
// after it.
func TestNearOnSentinel(t *testing.T) {
	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 1, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	near := newNear(t, cache.NearOptions{})
	reader := newCache(t, rdb, cache.Options{Prefix: "s:", Near: near})
	waitServing(t, near)
	writer := newCache(t, g.FailoverClient(t), cache.Options{Prefix: "s:"})
	measureWriteSeen(t, reader, writer, 50)

	// go-redis's own Sentinel client, whose dialer finds the master.
	failoverNear := newNear(t, cache.NearOptions{})
	failoverReader := newCache(t, g.FailoverClient(t), cache.Options{Prefix: "s:", Near: failoverNear})
	waitServing(t, failoverNear)
	measureWriteSeen(t, failoverReader, writer, 30)
	failoverReader.Close()

	old := g.Master()
	before, err := reader.Get(ctx, "a", func(context.Context, string) (product, error) { return product{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	old.Kill()
	g.WaitSwitch(t, old, 30*time.Second)
	updated := product{ID: "a", Price: -1}
	redistest.Eventually(t, 10*time.Second, "the write on the new master", func() bool {
		return writer.Set(ctx, "a", updated) == nil
	})
	written := time.Now()
	var seen time.Duration
	load := func(context.Context, string) (product, error) { return updated, nil }
	for time.Since(written) < 3*time.Second {
		p, err := reader.Get(ctx, "a", load)
		if err == nil && p == updated && seen == 0 {
			seen = time.Since(written)
		}
		if err == nil && p == before && seen != 0 {
			t.Fatalf("the value from before the failover served again %v after the write", time.Since(written))
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("Sentinel failover: the write on the new master seen after %v; %+v", seen.Round(time.Microsecond), near.Stats())
	if seen == 0 || seen > time.Second {
		t.Fatalf("the write on the new master seen after %v: want within 1 s", seen)
	}
	waitServing(t, near)
	nearHit(t, reader, "a", load)
}
