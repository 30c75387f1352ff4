package redisguard

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

func TestReplyClockTicksWhileCommandsAreInFlight(t *testing.T) {
	c := newClient(nil, config{queueLimit: 10}, retryPolicy{})
	defer c.cancel()
	r := newReplyClock(c, 80*time.Millisecond, func() bool { return c.queue.Len() > 0 }) // a tick every 10 ms
	defer r.stop()

	stripe, ok := c.queue.TakeOne() // a command in flight
	if !ok {
		t.Fatal("no queue slot")
	}
	before := c.clock()
	first := r.stamp()
	stamped := c.clock()
	if !r.running.Load() || first == 0 {
		t.Fatalf("a write did not start the clock: running %v, stamp %d", r.running.Load(), first)
	}
	if at := r.seen(first); at < before || at > stamped {
		t.Fatalf("the event a write saw is at %d, want between %d and %d", at, before, stamped)
	}
	time.Sleep(35 * time.Millisecond) // ticks since
	if r.quick(first) {
		t.Fatal("a reply that spans ticks was judged without the system clock")
	}
	now := c.clock()
	if by := r.writtenBy(first, now); by < before || by >= now {
		t.Fatalf("the first event after the write is at %d, want from %d and before %d", by, before, now)
	}
	if !r.running.Load() {
		t.Fatal("the clock stopped with a command in flight")
	}

	c.queue.ReleaseOne(stripe)
	redistest.Eventually(t, 5*time.Second, "the clock stops with no command in flight", func() bool { return !r.running.Load() })
	idle := r.seq.Load()
	time.Sleep(25 * time.Millisecond)
	if r.seq.Load() != idle {
		t.Fatal("a stopped clock went on ticking")
	}
	if again := r.stamp(); !r.running.Load() || again != idle+1 {
		t.Fatalf("a write did not start the clock again: running %v, stamp %d, want %d", r.running.Load(), again, idle+1)
	}

	r.stop()
	last := r.seq.Load()
	if r.stamp(); r.running.Load() || r.seq.Load() != last {
		t.Fatal("a clock stopped for good started again")
	}
}

// Whatever the timing, the event after a write is no earlier than the write,
// and the event before it no later: the server's time read from the clock
// is never more than it took.
func TestReplyClockBoundsTheWrite(t *testing.T) {
	c := newClient(nil, config{queueLimit: 10}, retryPolicy{})
	defer c.cancel()
	r := newReplyClock(c, 8*time.Millisecond, func() bool { return true }) // a tick every millisecond
	defer r.stop()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				before := c.clock()
				stamp := r.stamp()
				stamped := c.clock()
				if at := r.seen(stamp); at > stamped {
					t.Errorf("the event a write saw is at %d, after the write at %d", at, stamped)
					return
				}
				// Sometimes past every event the clock keeps.
				time.Sleep(time.Duration(rand.IntN(3_000)) * time.Microsecond * time.Duration(1+rand.IntN(2)*20))
				now := c.clock()
				if by := r.writtenBy(stamp, now); by < before || by > now {
					t.Errorf("the event after a write at %d..%d is at %d, now %d", before, stamped, by, now)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestJudgeLimitFollowsReadTimeout(t *testing.T) {
	for _, tc := range []struct {
		readTimeout, want time.Duration
	}{
		{2 * time.Second, 2 * time.Second},
		{0, 30 * time.Second}, // go-redis waits without a deadline
		{-1, 0},               // go-redis sets no deadline: nothing is judged
		{-2, 0},
	} {
		if got := judgeLimit(tc.readTimeout); got != tc.want {
			t.Errorf("judgeLimit(%v) = %v, want %v", tc.readTimeout, got, tc.want)
		}
	}
}
