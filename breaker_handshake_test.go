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

// A handshake reply that took the server longer than the slow-call threshold
// counts as one slow call, and a quick one counts as nothing: against a
// paused server, new connections' handshakes are where its slowness shows
// (commands time out, their connections are replaced, and each new one waits
// on HELLO), and without them the breaker stays closed (see docs/BREAKER.md,
// "Handshakes").
func TestSlowHandshakeCountsAsOneSlowCall(t *testing.T) {
	t.Parallel()
	for _, slow := range []bool{false, true} {
		srv := redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
			if cmd[0] == "HELLO" && slow {
				time.Sleep(700 * time.Millisecond) // the default threshold is 500 ms
			}
			if !redistest.AnswerHandshake(cmd, w) {
				w.WriteString("$1\r\nv\r\n")
			}
			return true
		})
		c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, PoolSize: 1}})
		if err := c.Get(context.Background(), "k").Err(); err != nil { // dials, then GET
			t.Fatal(err)
		}
		st, _ := c.Breaker()
		counts := st.Counts
		t.Logf("slow HELLO %v: %+v", slow, counts)
		wantFailures := uint32(0)
		if slow {
			wantFailures = 1
		}
		// The GET's quick reply is the one success.
		if counts.TotalFailures != wantFailures || counts.TotalSuccesses != 1 {
			t.Fatalf("slow HELLO %v: %+v, want %d failure and 1 success", slow, counts, wantFailures)
		}
	}
}
