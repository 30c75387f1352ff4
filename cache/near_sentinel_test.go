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
	rdb := guardedReady(t, redisguard.Options{Redis: &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs()}})
	ctx := context.Background()
	reader, near := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "s:"})
	writer := newCache(t, g.FailoverClient(t), cache.Options{Prefix: "s:"})
	measureWriteSeen(t, "Sentinel, a redisguard client", reader, writer, 50)

	// go-redis's own Sentinel client, whose dialer finds the master.
	failoverReader, _ := nearReader(t, g.FailoverClient(t), cache.NearOptions{}, cache.Options{Prefix: "s:"})
	measureWriteSeen(t, "Sentinel, go-redis's failover client", failoverReader, writer, 30)
	failoverReader.Close()

	old := g.Master()
	before, err := reader.Get(ctx, "a", func(context.Context, string) (product, error) { return product{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	old.Kill()
	g.WaitSwitch(t, old, 30*time.Second)
	updated := product{ID: "a", Price: -1}
	seen := seenAfterFailover(t, reader, writer, "a", before, updated)
	t.Logf("Sentinel failover: the write on the new master seen after %v; %+v", seen.Round(time.Microsecond), near.Stats())
	waitServing(t, near)
	nearHit(t, reader, "a", func(context.Context, string) (product, error) { return updated, nil })
}
