package redisguard

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// hammer runs GETs from n goroutines until stop is called, which returns how many
// completed.
func hammer(c *Client, n int) (stop func() int64) {
	var wg sync.WaitGroup
	var calls atomic.Int64
	done := make(chan struct{})
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = c.Get(ctx, "k").Err()
				cancel()
				calls.Add(1)
			}
		})
	}
	return func() int64 {
		close(done)
		wg.Wait()
		return calls.Load()
	}
}

func TestOneProberNoStampede(t *testing.T) {
	const (
		callers = 200
		window  = 3 * time.Second
	)
	for _, fault := range []string{"killed", "paused"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			proxy := redistest.NewProxy(t, srv.Addr())
			rec := newRecorder()
			c := newTestClient(t, Options{
				Redis: &redis.UniversalOptions{
					Addrs:       []string{proxy.Addr()},
					ReadTimeout: 200 * time.Millisecond,
				},
				ConnectTimeout: 300 * time.Millisecond,
				Reconnect:      ExponentialBackoff{Jitter: 0, MaxRetries: -1},
				Hooks:          rec.hooks(),
			})
			stop := hammer(c, callers)
			time.Sleep(300 * time.Millisecond) // the pool fills up
			before := proxy.Accepted()

			faultAt := time.Now()
			switch fault {
			case "killed":
				srv.Kill()
			case "paused":
				srv.Stop()
				defer srv.Continue()
			}
			time.Sleep(window)
			accepted := proxy.AcceptTimes()[before:]
			calls := stop()

			// Each reconnect attempt dials once, its delay after being scheduled.
			var due []time.Time
			for _, e := range rec.snapshot() {
				if e.kind == "reconnecting" {
					due = append(due, e.at.Add(e.delay))
				}
			}
			matched, unmatched := 0, 0
			for _, at := range accepted {
				if slices.ContainsFunc(due, func(d time.Time) bool {
					return !at.Before(d.Add(-5*time.Millisecond)) && at.Before(d.Add(schedulingTolerance))
				}) {
					matched++
				} else {
					unmatched++
				}
			}
			t.Logf("%s: %d callers made %d calls; %d connections reached the proxy, %d of them at the times of the %d reconnect attempts",
				fault, callers, calls, len(accepted), matched, len(due))
			if matched < 3 {
				t.Fatalf("only %d connections at reconnect attempt times in %v; attempts due at %v, connections at %v",
					matched, window, sinceAll(faultAt, due), sinceAll(faultAt, accepted))
			}
			// A few pool dials may race the moment the failure is noticed; any
			// more would be callers dialing the dead server.
			if unmatched > 3 {
				t.Fatalf("%d connections reached the server outside the reconnect schedule", unmatched)
			}
		})
	}
}

// sinceAll gives each time as an offset from start, for failure messages.
func sinceAll(start time.Time, times []time.Time) []time.Duration {
	offsets := make([]time.Duration, len(times))
	for i, at := range times {
		offsets[i] = at.Sub(start).Round(time.Millisecond)
	}
	return offsets
}
