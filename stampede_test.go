package redisguard

import (
	"runtime"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

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
			stop := hammer(c, callers, time.Millisecond)
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
			// Connections before the failure was noticed are the pool's; every
			// one after is a reconnect attempt: the i-th of them comes no
			// earlier than the i-th attempt is due (a caller dialing would
			// arrive early, or be one too many). Lateness is not bounded here:
			// a loaded machine delays timers and the proxy.
			var onset, after []time.Time
			for _, at := range accepted {
				if at.Before(noticed.Add(50 * time.Millisecond)) { // the proxy may see a dial late
					onset = append(onset, at)
				} else {
					after = append(after, at)
				}
			}
			t.Logf("%s: %d callers made %d calls; %d connections reached the proxy: %d for the %d reconnect attempts due, %d dialed by the pool before the failure was noticed",
				fault, callers, calls, len(accepted), len(after), len(due), len(onset))
			if len(after) < 3 {
				t.Fatalf("only %d connections after the failure in %v; attempts due at %v, connections at %v",
					len(after), window, sinceAll(faultAt, due), sinceAll(faultAt, accepted))
			}
			if len(after) > len(due) {
				t.Fatalf("%d connections reached the server after the failure was noticed, for %d reconnect attempts: callers are dialing (connections at %v, attempts due at %v)",
					len(after), len(due), sinceAll(faultAt, after), sinceAll(faultAt, due))
			}
			for i, at := range after {
				if at.Before(due[i].Add(-5 * time.Millisecond)) {
					t.Fatalf("connection %d at %v, before reconnect attempt %d was due (%v): callers are dialing (connections at %v, attempts due at %v)",
						i+1, at.Sub(faultAt).Round(time.Millisecond), i+1, due[i].Sub(faultAt).Round(time.Millisecond),
						sinceAll(faultAt, after), sinceAll(faultAt, due))
				}
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
