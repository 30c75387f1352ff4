package admission

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
		q := New(limit)
		var held []int
		for range limit {
			stripe, ok := q.TakeOne()
			if !ok {
				t.Fatalf("limit %d: refused with %d held", limit, len(held))
			}
			held = append(held, stripe)
		}
		if _, ok := q.TakeOne(); ok {
			t.Fatalf("limit %d: one more admitted", limit)
		}
		if _, took := q.Take(5); took != 0 {
			t.Fatalf("limit %d: a pipeline took %d slots of a full queue", limit, took)
		}
		for _, stripe := range held {
			q.ReleaseOne(stripe)
		}
		if n := q.Len(); n != 0 {
			t.Fatalf("limit %d: %d slots after releasing all", limit, n)
		}
		h, took := q.Take(limit + 5)
		if took != limit {
			t.Fatalf("limit %d: a pipeline of %d took %d slots of an empty queue", limit, limit+5, took)
		}
		q.Release(h, limit)
		if n := q.Len(); n != 0 {
			t.Fatalf("limit %d: %d slots after releasing the pipeline", limit, n)
		}
	}

	const limit = 50
	q := New(limit)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 2000 {
				stripe, ok := q.TakeOne()
				if !ok {
					continue
				}
				if n := inFlight.Add(1); n > peak.Load() {
					peak.Store(n)
				}
				inFlight.Add(-1)
				q.ReleaseOne(stripe)
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
	for n := 1; n <= maxStripes; n++ {
		if s := homeStripe(n); s < 0 || s >= n {
			t.Fatalf("homeStripe(%d) = %d", n, s)
		}
	}
	const goroutines = 64
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts [maxStripes]int
		alive  sync.WaitGroup // all alive at once: each on a stack of its own
	)
	alive.Add(goroutines)
	for range goroutines {
		wg.Go(func() {
			alive.Done()
			alive.Wait()
			var stripes [3]int
			for i := range stripes { // one call site, as admission has
				stripes[i] = homeStripe(maxStripes)
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
	if used < maxStripes/2 {
		t.Fatalf("%d goroutines have %d home stripes among %d: %v", goroutines, used, maxStripes, counts)
	}
}

// A batch takes what is free, up to what it wants, and gives back what it
// took, in parts.
func TestTakeIsPartialWhenFullAndReleaseGivesBack(t *testing.T) {
	t.Parallel()
	q := New(10)
	stripe, ok := q.TakeOne()
	if !ok {
		t.Fatal("TakeOne refused on an empty queue")
	}
	h, took := q.Take(20)
	if took != 9 || q.Len() != 10 {
		t.Fatalf("Take(20) with 9 free took %d, queue holds %d: want 9 and 10", took, q.Len())
	}
	if _, ok := q.TakeOne(); ok {
		t.Fatal("TakeOne succeeded on a full queue")
	}
	if _, none := q.Take(1); none != 0 {
		t.Fatalf("Take(1) on a full queue took %d", none)
	}
	h = q.Release(h, 4)
	if q.Len() != 6 {
		t.Fatalf("after releasing 4 of 9: %d held, want 6", q.Len())
	}
	q.Release(h, 10) // more than it holds: only what it holds
	q.ReleaseOne(stripe)
	if q.Len() != 0 {
		t.Fatalf("after releasing everything: %d held", q.Len())
	}
}

// Taking and releasing one slot allocates nothing: every command does it.
func TestTakeOneAllocatesNothing(t *testing.T) {
	q := New(1000)
	if n := testing.AllocsPerRun(1000, func() {
		stripe, _ := q.TakeOne()
		q.ReleaseOne(stripe)
	}); n != 0 {
		t.Fatalf("TakeOne+ReleaseOne: %v allocations, want 0", n)
	}
}
