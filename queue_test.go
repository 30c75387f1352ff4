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

// Each goroutine has a home stripe, the same for its successive commands, and
// goroutines are spread over the stripes.
func TestHomeStripeIsStableAndSpread(t *testing.T) {
	t.Parallel()
	for n := 1; n <= maxQueueStripes; n++ {
		if s := homeStripe(n); s < 0 || s >= n {
			t.Fatalf("homeStripe(%d) = %d", n, s)
		}
	}
	const goroutines = 64
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts [maxQueueStripes]int
		alive  sync.WaitGroup // all alive at once: each on a stack of its own
	)
	alive.Add(goroutines)
	for range goroutines {
		wg.Go(func() {
			alive.Done()
			alive.Wait()
			var stripes [3]int
			for i := range stripes { // one call site, as admission has
				stripes[i] = homeStripe(maxQueueStripes)
			}
			if stripes[1] != stripes[0] || stripes[2] != stripes[0] {
				t.Errorf("a goroutine's home stripe moved: %v", stripes)
			}
			mu.Lock()
			counts[stripes[0]]++
			mu.Unlock()
		})
	}
	wg.Wait()
	used := 0
	for _, c := range counts {
		if c > 0 {
			used++
		}
	}
	if used < maxQueueStripes/2 {
		t.Fatalf("%d goroutines have %d home stripes among %d: %v", goroutines, used, maxQueueStripes, counts)
	}
}
