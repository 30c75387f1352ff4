package redisguard

import (
	"sync"
	"sync/atomic"
	"testing"
)

// The striped queue never holds more than its limit, and refuses only when it
// is full.
func TestQueueHoldsAtMostItsLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int64{1, 3, 8, 13, 1000} {
		q := newQueue(limit)
		var held []int
		for range limit {
			stripe, ok := q.takeOne()
			if !ok {
				t.Fatalf("limit %d: refused with %d held", limit, len(held))
			}
			held = append(held, stripe)
		}
		if _, ok := q.takeOne(); ok {
			t.Fatalf("limit %d: one more admitted", limit)
		}
		if _, took := q.take(5); took != 0 {
			t.Fatalf("limit %d: a pipeline took %d slots of a full queue", limit, took)
		}
		for _, stripe := range held {
			q.releaseOne(stripe)
		}
		if n := q.len(); n != 0 {
			t.Fatalf("limit %d: %d slots after releasing all", limit, n)
		}
		h, took := q.take(limit + 5)
		if took != limit {
			t.Fatalf("limit %d: a pipeline of %d took %d slots of an empty queue", limit, limit+5, took)
		}
		q.release(h, limit)
		if n := q.len(); n != 0 {
			t.Fatalf("limit %d: %d slots after releasing the pipeline", limit, n)
		}
	}

	const limit = 50
	q := newQueue(limit)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 2000 {
				stripe, ok := q.takeOne()
				if !ok {
					continue
				}
				if n := inFlight.Add(1); n > peak.Load() {
					peak.Store(n)
				}
				inFlight.Add(-1)
				q.releaseOne(stripe)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("%d in flight at once, limit %d", p, limit)
	}
}
