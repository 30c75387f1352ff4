package redisguard_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// The cache's callers are in a hurry (a 100 ms budget per Get), and on a
// loaded host some Gets overrun it: the breaker must still judge Redis, which
// is healthy, and never send the reads to the database.
func TestCacheUnderLoadNeverOpensTheBreaker(t *testing.T) {
	srv := redistest.StartServer(t)
	var changes []string
	var mu sync.Mutex
	rdb, err := redisguard.New(redisguard.Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Hooks: redisguard.Hooks{OnBreakerStateChange: func(from, to breaker.State) {
			mu.Lock()
			changes = append(changes, from.String()+"→"+to.String())
			mu.Unlock()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	var openFallbacks, fallbacks, loads atomic.Int64
	products, err := cache.New[string](rdb, cache.Options{
		Prefix: "p:",
		TTL:    time.Minute,
		OnFallback: func(_ string, err error) {
			fallbacks.Add(1)
			if errors.Is(err, breaker.ErrOpen) {
				openFallbacks.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer products.Close()
	load := func(_ context.Context, id string) (string, error) {
		loads.Add(1)
		return "product " + id, nil
	}

	stopSpinning := redistest.BusyCores(t)
	var gets atomic.Int64
	var wg sync.WaitGroup
	until := time.Now().Add(5 * time.Second)
	for i := range 256 {
		wg.Go(func() {
			id := string(rune('a' + i%16))
			for time.Now().Before(until) {
				if _, err := products.Get(ctx, id, load); err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				gets.Add(1)
			}
		})
	}
	wg.Wait()
	stopSpinning()
	// Wait out the slow-call threshold (the default at most): a reply still
	// in flight has been judged by then.
	time.Sleep(breaker.DefaultSlowCallThreshold + 100*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	t.Logf("256 goroutines, cores busy, 5 s: %d Gets, %d loads, %d fallbacks (%d for an open breaker), breaker changes %v",
		gets.Load(), loads.Load(), fallbacks.Load(), openFallbacks.Load(), changes)
	if len(changes) != 0 || openFallbacks.Load() != 0 || breakerState(rdb) != breaker.StateClosed {
		t.Fatalf("the breaker changed (%v) and sent %d Gets to the loader: want closed throughout", changes, openFallbacks.Load())
	}
}

func breakerState(c *redisguard.Client) breaker.State {
	s, _ := c.Breaker()
	return s.State
}
