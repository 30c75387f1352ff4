package redisguard

import (
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

func TestReplyClockTicksWhileCommandsAreInFlight(t *testing.T) {
	c := newClient(nil, config{queueLimit: 10}, retryPolicy{})
	defer c.cancel()
	r := newReplyClock(c, 40*time.Millisecond, func() bool { return c.queue.len() > 0 }) // a tick every 10 ms
	defer r.stop()

	stripe, ok := c.queue.takeOne() // a command in flight
	if !ok {
		t.Fatal("no queue slot")
	}
	first := c.clock()
	r.written(first)
	if r.quick(first) {
		t.Fatal("the write that started the clock was judged without the system clock")
	}
	second := c.clock()
	r.written(second)
	if r.last.Load() == first && !r.quick(second) {
		t.Fatal("a reply right after a write, with no tick between, read the system clock")
	}
	time.Sleep(30 * time.Millisecond) // ticks since
	if r.quick(second) {
		t.Fatal("a reply that spans ticks was judged without the system clock")
	}
	if !r.running.Load() {
		t.Fatal("the clock stopped with a command in flight")
	}

	c.queue.releaseOne(stripe)
	redistest.Eventually(t, 5*time.Second, "the clock stops with no command in flight", func() bool { return !r.running.Load() })
	if now := c.clock(); r.quick(now) {
		t.Fatal("a stopped clock judged a reply")
	}
	restart := c.clock()
	r.written(restart)
	if !r.running.Load() || r.last.Load() != restart {
		t.Fatalf("a write did not start the clock again: running %v, last %d, want %d", r.running.Load(), r.last.Load(), restart)
	}

	r.stop()
	r.written(c.clock())
	if r.running.Load() || r.quick(c.clock()) {
		t.Fatal("a stopped clock started again")
	}
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

func TestReplyClockReadingNeverGoesBack(t *testing.T) {
	c := newClient(nil, config{queueLimit: 10}, retryPolicy{})
	defer c.cancel()
	r := newReplyClock(c, time.Hour, func() bool { return false })
	defer r.stop()
	later := c.clock()
	r.advance(later)
	r.advance(later - 1) // a start that read the clock a moment before
	if got := r.last.Load(); got != later {
		t.Fatalf("reading %d after advancing to %d, then to an earlier one", got, later)
	}
}
