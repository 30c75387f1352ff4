package redisguard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A server at maxclients is busy, not gone: the client serves on the
// connections it has, backs off new dials, and never gives up because of it.
func TestMaxClientsIsBusyNotGone(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxclients 10")
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, PoolSize: 50},
		Hooks: rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if err := c.Get(ctx, "k").Err(); err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("a burst of 100 GETs against maxclients 10: %d answered, %d failed; state %v", ok.Load(), failed.Load(), c.State())

	// Within seconds the client serves again: on the connections the server
	// accepted, while new dials pause.
	redistest.Eventually(t, 5*time.Second, "20 GETs in a row answered", func() bool {
		for range 20 {
			if c.Get(ctx, "k").Err() != nil {
				return false
			}
		}
		return true
	})
	var answered, slowest atomic.Int64
	for range 100 {
		wg.Go(func() {
			start := time.Now()
			if c.Get(ctx, "k").Err() == nil {
				answered.Add(1)
			}
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
		})
	}
	wg.Wait()
	t.Logf("a second burst: %d of 100 answered, the slowest in %v", answered.Load(), time.Duration(slowest.Load()))
	if answered.Load() < 50 || time.Duration(slowest.Load()) > 2*time.Second {
		t.Fatalf("a second burst: %d of 100 answered, the slowest in %v", answered.Load(), time.Duration(slowest.Load()))
	}
	if st := c.State(); st != StateReady {
		t.Fatalf("client %v after the burst, want ready", st)
	}
	for _, e := range rec.snapshot() {
		if e.kind == "end" || errors.Is(e.err, ErrMaxRetriesReached) {
			t.Fatalf("the client gave up: %v", e)
		}
	}
}
