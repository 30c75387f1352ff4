package circuit

import (
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

func TestSuccessesOlderThanTheWindowAreForgotten(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 100, MinRequests: 4, FailureRatio: 0.5, Window: 500 * time.Millisecond})
	for range 3 {
		_ = call(t, b, nil)
	}
	time.Sleep(750 * time.Millisecond) // the window moved past them
	_ = call(t, b, nil)
	for range 3 {
		_ = call(t, b, errReset)
	}
	// 3 of the 4 calls in the window failed; with the 3 old successes it
	// would have been 3 of 7.
	if b.State() != StateOpen {
		t.Fatalf("state %v, counts %+v: successes older than the window still counted", b.State(), b.Counts())
	}
}

func TestRecentBucketFollowsTheClock(t *testing.T) {
	w := newWindow(time.Now(), 100*time.Millisecond) // 10 ms buckets
	// While calls come, the ticker moves the bucket on; it is never ahead of
	// the clock.
	end := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(end) {
		if r, b := w.recentBucket(), w.bucket(); r > b {
			t.Fatalf("recent bucket %d ahead of the clock's %d", r, b)
		}
		time.Sleep(time.Millisecond)
	}
	redistest.Eventually(t, 5*time.Second, "the recent bucket catches up with the clock", func() bool {
		return w.recentBucket() == w.bucket()
	})
	// Idle, the ticker stops after one tick, and the next call reads the
	// clock.
	redistest.Eventually(t, 5*time.Second, "the ticker stops", func() bool { return w.clock.Load()&1 == 0 })
	time.Sleep(50 * time.Millisecond)
	before := w.bucket()
	r := w.recentBucket()
	if after := w.bucket(); r < before || r > after {
		t.Fatalf("first call after idling: recent bucket %d, clock %d…%d", r, before, after)
	}
}

func TestWindowCounts(t *testing.T) {
	w := newWindow(time.Now(), time.Hour)
	for range 1000 {
		w.success()
	}
	for range 7 {
		w.exclusion()
	}
	c := w.counts(w.failure())
	want := Counts{Requests: 1008, TotalSuccesses: 1000, TotalFailures: 1, TotalExclusions: 7, ConsecutiveFailures: 1}
	if c != want {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	w.success()
	if c := w.counts(w.bucket()); c.ConsecutiveFailures != 0 || c.TotalSuccesses != 1001 {
		t.Fatalf("counts %+v after a success", c)
	}
}

func TestStampedCounter(t *testing.T) {
	var c stamped
	add(&c, 5)
	add(&c, 5)
	if got := inWindow(c.Load(), 5); got != 2 {
		t.Fatalf("count %d in bucket 5, want 2", got)
	}
	add(&c, 4) // a caller with an older clock: counted in the newer bucket
	if got := inWindow(c.Load(), 5); got != 3 {
		t.Fatalf("count %d, want 3", got)
	}
	if got := inWindow(c.Load(), 5+windowBuckets); got != 0 {
		t.Fatalf("count %d a window later, want 0", got)
	}
	add(&c, 5+windowBuckets) // a later bucket in the same cell starts afresh
	if got := inWindow(c.Load(), 5+windowBuckets); got != 1 {
		t.Fatalf("count %d, want 1", got)
	}
	// Bucket numbers wrap.
	c.Store(uint64(^uint32(0))<<32 | 9)
	if got := inWindow(c.Load(), 3); got != 9 {
		t.Fatalf("count %d across the wrap, want 9", got)
	}
	add(&c, 3) // bucket 3 follows bucket 2³²-1
	if got := inWindow(c.Load(), 3); got != 1 {
		t.Fatalf("count %d after adding across the wrap, want 1", got)
	}
}
