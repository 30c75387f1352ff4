package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// A near tier's state is exported at scrape time: its connection up and
// serving, its fills, and its loss when the server kills the connection.
func TestObserveNear(t *testing.T) {
	srv := redistest.StartServer(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	near, err := cache.NewNear(cache.NearOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveNear("products", near)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	c, err := cache.New[string](rdb, cache.Options{Prefix: "p:", TTL: time.Minute, Near: near, Observer: m.ObserveCache})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	value := func(name string) float64 {
		mt := gather(t, reg).metric(name, "near=products")
		switch {
		case mt == nil:
			return -1
		case mt.GetGauge() != nil:
			return mt.GetGauge().GetValue()
		default:
			return mt.GetCounter().GetValue()
		}
	}
	redistest.Eventually(t, 10*time.Second, "serving", func() bool { return value("redis_cache_near_serving") == 1 })
	ctx := context.Background()
	load := func(context.Context, string) (string, error) { return "v", nil }
	redistest.Eventually(t, 5*time.Second, "a near hit", func() bool {
		_, _ = c.Get(ctx, "a", load)
		return c.Stats().NearHits > 0
	})
	if got := value("redis_cache_near_connections_up"); got != 1 {
		t.Fatalf("connections up %v, want 1", got)
	}
	if value("redis_cache_near_fills_total") < 1 || value("redis_cache_near_entries") != 1 {
		t.Fatalf("fills %v, entries %v", value("redis_cache_near_fills_total"), value("redis_cache_near_entries"))
	}
	if err := srv.Client(t).Do(ctx, "client", "kill", "type", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, "the loss counted", func() bool { return value("redis_cache_near_connections_lost_total") == 1 })
}
