package redisguard

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/outcome"
)

// A node the slot map drops wakes every command waiting on it, whatever the
// offline queue: no attempt of its supervisor is coming. No server is needed.
func TestRetiringANodeWakesEveryWaiter(t *testing.T) {
	for _, offline := range []bool{false, true} {
		c := newClient(nil, config{queueLimit: 100, offlineQueue: offline, events: newEvents(Hooks{}, slog.New(slog.DiscardHandler))}, retryPolicy{})
		c.cluster = &clusterNodes{c: c, byAd: make(map[string]*node)}
		t.Cleanup(c.cancel)
		n := newNode(c, "127.0.0.1:1", nil, time.Second, 1)
		c.cluster.byAd[n.address()] = n
		n.mu.Lock()
		n.setStateLocked(StateReconnecting) // down, its supervisor at work
		n.running = true
		n.mu.Unlock()

		const waiters = 16
		errs := make(chan error, waiters)
		var wg sync.WaitGroup
		for range waiters {
			// No deadline: only the retirement can end the wait.
			wg.Go(func() { errs <- n.awaitAttempt(context.Background()) })
		}
		time.Sleep(50 * time.Millisecond) // let them wait
		select {
		case err := <-errs:
			t.Fatalf("offline queue %v: a waiter returned before anything happened: %v", offline, err)
		default:
		}
		if !n.retire(true) {
			t.Fatal("not retired")
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("offline queue %v: waiters still waiting on a retired node", offline)
		}
		close(errs)
		late := n.awaitAttempt(context.Background()) // one that comes after
		for err := range func(yield func(error) bool) {
			for e := range errs {
				if !yield(e) {
					return
				}
			}
			yield(late)
		} {
			var op *net.OpError
			if !errors.Is(err, ErrNotReady) || !isRetired(err) || !errors.As(err, &op) || op.Op != "dial" ||
				!strings.Contains(err.Error(), "127.0.0.1:1 left the cluster's slot map") {
				t.Fatalf("offline queue %v: %v, want a refusal naming the retirement, as a dial that failed", offline, err)
			}
			if _, row := classify(context.Background(), err); row.Resend != outcome.Always {
				t.Fatalf("%v is not classified as never sent", err)
			}
		}
	}
}
