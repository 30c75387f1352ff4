package redisguard

import (
	"bufio"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A server that completes every handshake at once but answers no command (a
// proxy whose backend hangs) opens the breaker as a stalled server does:
// the handshakes of the new connections each timed-out command costs are
// not counted as its successes.
func TestHandshakesDoNotKeepTheBreakerClosed(t *testing.T) {
	t.Parallel()
	srv := redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		redistest.AnswerHandshake(cmd, w) // and nothing for any other command
		return true
	})
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		// The default breaker: 5 failures in a row, a 500 ms slow-call threshold.
	})
	calls := 0
	for ; calls < 10 && statusOf(c).State != breaker.StateOpen; calls++ {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := c.Get(ctx, "k").Err()
		cancel()
		if err == nil {
			t.Fatal("a GET answered")
		}
		time.Sleep(50 * time.Millisecond) // the drain of the abandoned connection judges it
	}
	if st := statusOf(c).State; st != breaker.StateOpen {
		t.Fatalf("breaker %v after %d timed-out GETs on %d connections", st, calls, srv.Accepted())
	}
	t.Logf("breaker open after %d timed-out GETs, %d connections", calls, srv.Accepted())
	// Refused at once: the median of 21 callers, so that a loaded machine's
	// scheduling of one does not count.
	var took []time.Duration
	for range 21 {
		start := time.Now()
		err := c.Get(context.Background(), "k").Err()
		took = append(took, time.Since(start))
		if !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a GET once open: %v, want breaker.ErrOpen", err)
		}
	}
	slices.Sort(took)
	t.Logf("refused in %v (median of 21), %v at most", took[len(took)/2], took[len(took)-1])
	if took[len(took)/2] > 5*time.Millisecond {
		t.Fatalf("GETs refused in %v (median), want within 5 ms", took[len(took)/2])
	}
}
