package redisguardtest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/redisguardtest"
)

// TestExampleCacheFallsBackDuringOutage is the test a service writes for its
// own fallback: a product lookup through a cache whose loader is the
// database, checked while Redis is down, after it came back, and while it is
// silent.
func TestExampleCacheFallsBackDuringOutage(t *testing.T) {
	srv := redisguardtest.StartServer(t)
	proxy := redisguardtest.StartProxy(t, srv.Addr())
	rdb, err := redisguard.New(redisguard.Options{
		URL:       "redis://" + proxy.Addr(),
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	const budget = 200 * time.Millisecond
	products, err := cache.New[string](rdb, cache.Options{Prefix: "product:", TTL: time.Minute, Timeout: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { products.Close() })

	var loads atomic.Int64 // the "database"
	load := func(ctx context.Context, id string) (string, error) {
		loads.Add(1)
		return "product " + id, nil
	}
	ctx := context.Background()
	get := func(what string) {
		t.Helper()
		if v, err := products.Get(ctx, "42", load); err != nil || v != "product 42" {
			t.Fatalf("%s: %q, %v", what, v, err)
		}
	}

	get("cold") // loaded and stored in Redis
	get("warm") // from Redis
	if n, hits := loads.Load(), products.Stats().Hits; n != 1 || hits != 1 {
		t.Fatalf("before the outage: %d loads, %d hits; want 1 and 1", n, hits)
	}

	proxy.Down()
	get("Redis down") // the loader answers
	if n := loads.Load(); n != 2 {
		t.Fatalf("while Redis was down: %d loads, want 2", n)
	}

	proxy.Up()
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	get("Redis back") // from Redis again
	if n, hits := loads.Load(), products.Stats().Hits; n != 2 || hits != 2 {
		t.Fatalf("after Up: %d loads, %d hits; want 2 and 2", n, hits)
	}

	proxy.Pause()
	start := time.Now()
	get("Redis silent") // the loader answers once the budget is spent
	took := time.Since(start)
	proxy.Resume()
	if n := loads.Load(); n != 3 {
		t.Fatalf("while Redis was silent: %d loads, want 3", n)
	}
	// The budget bounds the wait for Redis; the generous margin is for a
	// loaded machine.
	if took > budget+2*time.Second {
		t.Fatalf("a Get while Redis was silent took %v, budget %v", took, budget)
	}
	t.Logf("Get while Redis was silent: %v (budget %v)", took.Round(time.Millisecond), budget)
}
