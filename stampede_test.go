package redisguard

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// hammer runs GETs from n goroutines, each pausing a millisecond between calls
// as a busy service's handlers would, until stop is called, which returns how
// many completed.
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
				time.Sleep(time.Millisecond)
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
			opts := quickOptions(proxy.Addr()) // no jitter: the schedule is exact
			opts.Hooks = rec.hooks()
			c := newTestClient(t, opts)
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
			events := rec.snapshot()
			var due []time.Time
			var noticed time.Time // when the client noticed: the first reconnecting
			for _, e := range events {
				if e.kind == "reconnecting" {
					if noticed.IsZero() {
						noticed = e.at
					}
					due = append(due, e.at.Add(e.delay))
				}
			}
			var matched, onset, stray []time.Time
			for _, at := range accepted {
				switch {
				case slices.ContainsFunc(due, func(d time.Time) bool {
					return !at.Before(d.Add(-5*time.Millisecond)) && at.Before(d.Add(schedulingTolerance))
				}):
					matched = append(matched, at)
				case at.Before(noticed.Add(50 * time.Millisecond)): // the proxy may see a dial late
					onset = append(onset, at)
				default:
					stray = append(stray, at)
				}
			}
			t.Logf("%s: %d callers made %d calls; %d connections reached the proxy: %d at the times of the %d reconnect attempts, %d dialed by the pool before the failure was noticed",
				fault, callers, calls, len(accepted), len(matched), len(due), len(onset))
			if len(matched) < 3 {
				t.Fatalf("only %d connections at reconnect attempt times in %v; attempts due at %v, connections at %v",
					len(matched), window, sinceAll(faultAt, due), sinceAll(faultAt, accepted))
			}
			// Once the failure is noticed, every connection is a reconnect
			// attempt: callers never dial.
			if len(stray) > 0 {
				t.Fatalf("%d connections reached the server after the failure was noticed, outside the reconnect schedule: at %v (attempts due at %v)",
					len(stray), sinceAll(faultAt, stray), sinceAll(faultAt, due))
			}
			// Before, the pool may dial, at most one connection per pool slot.
			if poolSize := 10 * runtime.GOMAXPROCS(0); len(onset) > poolSize {
				t.Fatalf("%d connections dialed before the failure was noticed, more than the pool's %d", len(onset), poolSize)
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
