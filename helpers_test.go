package redisguard

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
)

// event is one lifecycle hook call, as a recorder saw it.
type event struct {
	at      time.Time
	kind    string // connect, ready, error, reconnecting, end, breaker
	addr    string // connect: the address; breaker: "from→to"
	attempt int
	delay   time.Duration
	err     error
}

func (e event) String() string {
	switch e.kind {
	case "connect", "breaker":
		return e.kind + " " + e.addr
	case "reconnecting":
		return fmt.Sprintf("reconnecting %d %v", e.attempt, e.delay)
	case "error", "end":
		return fmt.Sprintf("%s %v", e.kind, e.err)
	}
	return e.kind
}

// recorder collects lifecycle events from any goroutine.
type recorder struct {
	mu     sync.Mutex
	events []event
	added  chan struct{} // closed and replaced on every event
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{})} }

func (r *recorder) add(e event) {
	e.at = time.Now()
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.added)
	r.added = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		OnConnect:      func(addr string) { r.add(event{kind: "connect", addr: addr}) },
		OnReady:        func() { r.add(event{kind: "ready"}) },
		OnError:        func(err error) { r.add(event{kind: "error", err: err}) },
		OnReconnecting: func(n int, d time.Duration) { r.add(event{kind: "reconnecting", attempt: n, delay: d}) },
		OnEnd:          func(err error) { r.add(event{kind: "end", err: err}) },
		OnBreakerStateChange: func(from, to breaker.State) {
			r.add(event{kind: "breaker", addr: from.String() + "→" + to.String()})
		},
	}
}

// breakerChanges lists the breaker's recorded changes, as "from→to".
func (r *recorder) breakerChanges() []string {
	var changes []string
	for _, e := range r.snapshot() {
		if e.kind == "breaker" {
			changes = append(changes, e.addr)
		}
	}
	return changes
}

func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// count returns how many events of kind were recorded.
func (r *recorder) count(kind string) int {
	n := 0
	for _, e := range r.snapshot() {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// waitFor waits until at least n events of kind were recorded and returns the
// n-th; it fails the test after timeout.
func (r *recorder) waitFor(t testing.TB, kind string, n int, timeout time.Duration) event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		seen := 0
		for _, e := range r.events {
			if e.kind == kind {
				if seen++; seen == n {
					r.mu.Unlock()
					return e
				}
			}
		}
		added := r.added
		r.mu.Unlock()
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("no %d× %q event within %v; events: %v", n, kind, timeout, r.snapshot())
		}
	}
}

// lifecycle keeps the kinds that describe the connection's life (connect events
// of pool dials and breaker changes are left out), for order assertions.
func lifecycle(events []event) []string {
	var kinds []string
	for _, e := range events {
		if e.kind != "connect" && e.kind != "breaker" {
			kinds = append(kinds, e.kind)
		}
	}
	return kinds
}

// quickOptions notices a paused or silent server fast: reads give up after
// 200 ms, reconnect attempts after 300 ms, and the client never gives up.
func quickOptions(addr string) Options {
	return Options{
		Redis: &redis.UniversalOptions{
			Addrs:       []string{addr},
			ReadTimeout: 200 * time.Millisecond,
		},
		ConnectTimeout: 300 * time.Millisecond,
		Reconnect:      ExponentialBackoff{MaxRetries: -1},
	}
}

// newTestClient builds a client, waits until it is ready and closes it when the
// test ends.
func newTestClient(t testing.TB, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return c
}

// hammer runs GETs from n goroutines, each pausing between calls as a busy
// service's handlers would, until stop is called, which returns how many
// completed.
func hammer(c *Client, n int, pause time.Duration) (stop func() int64) {
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
				time.Sleep(pause)
			}
		})
	}
	return func() int64 {
		close(done)
		wg.Wait()
		return calls.Load()
	}
}

// statusOf returns the status of c's breaker, the zero one when it has none.
func statusOf(c *Client) BreakerStatus {
	s, _ := c.Breaker()
	return s
}

// liveBreaker returns the breaker of a standalone or Sentinel client itself,
// for a test that drives it.
func liveBreaker(c *Client) *circuit.Breaker { return c.solo.breaker.Load() }
