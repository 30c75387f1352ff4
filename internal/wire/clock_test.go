package wire

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

func TestReplyClockTicksWhileCommandsAreInFlight(t *testing.T) {
	var inFlight atomic.Int32
	clock := monotonic()
	r := NewClock(clock, 80*time.Millisecond, func() bool { return inFlight.Load() > 0 }) // a tick every 10 ms
	defer r.Stop()

	inFlight.Add(1) // a command in flight
	before, wallBefore := clock(), time.Now().UnixNano()
	first := r.Stamp()
	stamped, wallStamped := clock(), time.Now().UnixNano()
	if !r.running.Load() || first == 0 {
		t.Fatalf("a write did not start the clock: running %v, stamp %d", r.running.Load(), first)
	}
	if at := r.at[first%eventsKept].Load(); at < before || at > stamped {
		t.Fatalf("the event a write saw is at %d, want between %d and %d", at, before, stamped)
	}
	if at := r.WallSeen(first); at < wallBefore || at > wallStamped {
		t.Fatalf("the event a write saw is at %d on the wall clock, want between %d and %d", at, wallBefore, wallStamped)
	}
	time.Sleep(35 * time.Millisecond) // ticks since
	if r.Quick(first) {
		t.Fatal("a reply that spans ticks was judged without the system clock")
	}
	now := clock()
	if by := r.WrittenBy(first, now); by < before || by >= now {
		t.Fatalf("the first event after the write is at %d, want from %d and before %d", by, before, now)
	}
	if !r.running.Load() {
		t.Fatal("the clock stopped with a command in flight")
	}

	inFlight.Add(-1)
	redistest.Eventually(t, 5*time.Second, "the clock stops with no command in flight", func() bool { return !r.running.Load() })
	idle := r.seq.Load()
	time.Sleep(25 * time.Millisecond)
	if r.seq.Load() != idle {
		t.Fatal("a stopped clock went on ticking")
	}
	if again := r.Stamp(); !r.running.Load() || again != idle+1 {
		t.Fatalf("a write did not start the clock again: running %v, stamp %d, want %d", r.running.Load(), again, idle+1)
	}

	r.Stop()
	last := r.seq.Load()
	if r.Stamp(); r.running.Load() || r.seq.Load() != last {
		t.Fatal("a clock stopped for good started again")
	}
}

// Whatever the timing, the event after a write is no earlier than the write,
// and the event before it no later: the server's time read from the clock
// is never more than it took.
func TestReplyClockBoundsTheWrite(t *testing.T) {
	clock := monotonic()
	r := NewClock(clock, 8*time.Millisecond, func() bool { return true }) // a tick every millisecond
	defer r.Stop()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				before := clock()
				stamp := r.Stamp()
				stamped, wallStamped := clock(), time.Now().UnixNano()
				if at := r.WallSeen(stamp); at > wallStamped {
					t.Errorf("the event a write saw is at %d on the wall clock, after the write at %d", at, wallStamped)
					return
				}
				// Sometimes past every event the clock keeps.
				time.Sleep(time.Duration(rand.IntN(3_000)) * time.Microsecond * time.Duration(1+rand.IntN(2)*20))
				now := clock()
				if by := r.WrittenBy(stamp, now); by < before || by > now {
					t.Errorf("the event after a write at %d..%d is at %d, now %d", before, stamped, by, now)
					return
				}
			}
		})
	}
	wg.Wait()
}

// monotonic is a system clock as a Client keeps one: nanoseconds since it
// was made, never 0.
func monotonic() func() int64 {
	epoch := time.Now()
	return func() int64 { return int64(time.Since(epoch)) + 1 }
}
