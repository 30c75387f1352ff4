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
		for i := range limit {
			if !q.TakeOne() {
				t.Fatalf("limit %d: refused with %d held", limit, i)
			}
		}
		if q.TakeOne() {
			t.Fatalf("limit %d: one more admitted", limit)
		}
		if _, took := q.Take(5); took != 0 {
			t.Fatalf("limit %d: a pipeline took %d slots of a full queue", limit, took)
		}
		for range limit {
			q.ReleaseOne()
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
				ok := q.TakeOne()
				if !ok {
					continue
				}
				if n := inFlight.Add(1); n > peak.Load() {
					peak.Store(n)
				}
				inFlight.Add(-1)
				q.ReleaseOne()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("%d in flight at once, limit %d", p, limit)
	}
}

// A slot given back goes to the stripe of the P its holder runs on then,
// which may not be the one it came from: the queue still holds at most its
// limit, and refuses only when full.
func TestSlotsGivenBackElsewhereKeepTheLimit(t *testing.T) {
	t.Parallel()
	for n := 1; n <= maxStripes; n++ {
		if s := homeStripe(n); s < 0 || s >= n {
			t.Fatalf("homeStripe(%d) = %d", n, s)
		}
	}
	const limit = 16
	q := New(limit)
	for round := range 3 {
		for i := range limit {
			if !q.TakeOne() {
				t.Fatalf("round %d: refused with %d held", round, i)
			}
		}
		if q.TakeOne() {
			t.Fatalf("round %d: one more than the limit admitted", round)
		}
		// Every slot goes back to one stripe, as if all holders had moved
		// to one P.
		for range limit {
			q.stripes[round%len(q.stripes)].n.Add(-1)
		}
		if n := q.Len(); n != 0 {
			t.Fatalf("round %d: Len %d after every slot went back, want 0", round, n)
		}
	}
}

// A batch takes what is free, up to what it wants, and gives back what it
// took, in parts.
func TestTakeIsPartialWhenFullAndReleaseGivesBack(t *testing.T) {
	t.Parallel()
	q := New(10)
	ok := q.TakeOne()
	if !ok {
		t.Fatal("TakeOne refused on an empty queue")
	}
	h, took := q.Take(20)
	if took != 9 || q.Len() != 10 {
		t.Fatalf("Take(20) with 9 free took %d, queue holds %d: want 9 and 10", took, q.Len())
	}
	if q.TakeOne() {
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
	q.ReleaseOne()
	if q.Len() != 0 {
		t.Fatalf("after releasing everything: %d held", q.Len())
	}
}

// Taking and releasing one slot allocates nothing: every command does it.
func TestTakeOneAllocatesNothing(t *testing.T) {
	q := New(1000)
	if n := testing.AllocsPerRun(1000, func() {
		q.TakeOne()
		q.ReleaseOne()
	}); n != 0 {
		t.Fatalf("TakeOne+ReleaseOne: %v allocations, want 0", n)
	}
}
