package redisguard

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// At max clients, while new dials pause, the commands wait for the pooled
// connections instead of failing: none fails while the server serves the
// connections it took and the deadline (1 s) allows (2.5 % did when paused
// dials failed at once, and 25 to 80 in 30k to 60k when a command waited for
// a dial the pause held: go-redis does not give it a connection put back).
// A plain go-redis client on the same server first, with the same deadlines,
// for the record.
func TestMaxClientsCommandsWaitForPooledConnections(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxclients 10")
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, PoolSize: 50}})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	burst := func(rdb redis.UniversalClient) (failed int64, first error) {
		var n, calls, slowest atomic.Int64
		defer func() { t.Logf("%d calls, the slowest %v", calls.Load(), time.Duration(slowest.Load())) }()
		var once sync.Once
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
					calls.Add(1)
					start := time.Now()
					ctx, cancel := context.WithTimeout(ctx, time.Second)
					err := rdb.Get(ctx, "k").Err()
					cancel()
					if d := int64(time.Since(start)); d > slowest.Load() {
						slowest.Store(d)
					}
					if err != nil {
						n.Add(1)
						once.Do(func() { first = err })
					}
				}
			})
		}
		wg.Wait()
		return n.Load(), first
	}
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 50})
	start := time.Now()
	plainFailed, plainFirst := burst(plain)
	plainTook := time.Since(start)
	plain.Close()
	start = time.Now()
	failed, first := burst(c)
	t.Logf("100 goroutines GETs with 1 s deadlines for 2 s against maxclients 10, PoolSize 50: guarded %d failed (%v) in %v, plain go-redis before it %d failed (%v) in %v",
		failed, first, time.Since(start), plainFailed, plainFirst, plainTook)
	// What the deadline allows is what plain go-redis served: on an idle
	// machine, every GET.
	if failed > plainFailed {
		t.Fatalf("%d GETs failed (plain go-redis: %d), the first with %v", failed, plainFailed, first)
	}
}
