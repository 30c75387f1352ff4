package circuit

import (
	"math"
	"sync"
	"sync/atomic"
)

// A Tally counts the successes of one source of outcomes that is used by one
// goroutine at a time, such as a connection, in memory of its own: the
// window's shared counters, which every core writes, are left alone, and so
// are the caches of the other cores. A closed breaker adds up its tallies
// with its window whenever it judges it, so a success counted in a tally
// counts exactly as one counted by Record.
//
// A Tally holds the successes of one bucket of time, the latest it counted
// in; its first success in a later bucket moves them to the window. The zero
// Tally is ready to use; Close it when its source is done. It must not be
// copied after first use.
type Tally struct {
	// w is the window of the closed phase the tally counts in, which knows
	// it; nil before its first success and after Close.
	w atomic.Pointer[window]
	// cell holds a bucket number and the successes in it, as a stamped
	// counter does.
	cell   stamped
	closed atomic.Bool
}

// RecordSuccess counts a success in t, as Record(nil) counts one in the
// breaker's own counters: only while the breaker is closed. It reports
// whether it counted it. It takes no lock, allocates nothing and writes only
// t's memory, except for t's first success in each closed phase of b.
func (b *Breaker) RecordSuccess(t *Tally) bool {
	p := b.phase.Load()
	if p.state != StateClosed {
		return false
	}
	w := p.window
	bucket := w.recentBucket()
	if t.w.Load() == w {
		t.count(w, bucket)
	} else {
		w.tallies.attach(t, w, bucket)
	}
	if w.run.Load() != 0 {
		w.run.Store(0)
	}
	return true
}

// Success counts a success in t if t counts in a closed phase that is still
// on, which it does after its first success there (RecordSuccess): it then
// reads only t and one cache line of the window, not the breaker. It reports
// whether it counted the success; if not, RecordSuccess counts it, or finds
// the breaker not closed.
func (t *Tally) Success() bool {
	w := t.w.Load()
	if w == nil || w.over.Load() {
		return false
	}
	t.count(w, w.recentBucket())
	if w.run.Load() != 0 {
		w.run.Store(0)
	}
	return true
}

// count counts one success in bucket. Only t's goroutine writes t's cell
// (Close aside), so it needs no compare-and-swap.
func (t *Tally) count(w *window, bucket uint32) {
	old := t.cell.Load()
	stamp, n := uint32(old>>32), uint32(old)
	switch {
	case int32(bucket-stamp) > 0:
		// A later bucket: the window keeps the earlier one's successes.
		w.addSuccesses(stamp, n, bucket)
		t.cell.Store(uint64(bucket)<<32 | 1)
	case n < math.MaxUint32:
		// This bucket, or an earlier one read from a clock that lagged:
		// counting in the later one is as good (see add).
		t.cell.Store(old + 1)
	}
}

// Close moves what t counted to its window, which forgets it. A success
// counted at the same time by t's goroutine may be lost.
func (t *Tally) Close() {
	t.closed.Store(true)
	w := t.w.Swap(nil)
	if w == nil {
		return
	}
	w.tallies.detach(t)
	old := t.cell.Swap(0)
	w.addSuccesses(uint32(old>>32), uint32(old), w.bucket())
}

// tallies are the tallies counting in a window.
type tallies struct {
	mu  sync.Mutex
	set map[*Tally]struct{}
}

// attach makes t count in w, starting with one success in bucket, unless t
// is closed. What t counted before belonged to an earlier closed phase, now
// over.
func (ts *tallies) attach(t *Tally, w *window, bucket uint32) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.closed.Load() {
		return
	}
	if ts.set == nil {
		ts.set = make(map[*Tally]struct{})
	}
	ts.set[t] = struct{}{}
	t.cell.Store(uint64(bucket)<<32 | 1)
	t.w.Store(w)
	if t.closed.Load() {
		// Close ran meanwhile and found no window to leave: leave it here.
		delete(ts.set, t)
		t.w.Store(nil)
	}
}

func (ts *tallies) detach(t *Tally) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.set, t)
}

// sum adds up the successes the tallies hold in the window that ends with
// bucket.
func (ts *tallies) sum(bucket uint32) uint32 {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var n uint32
	for t := range ts.set {
		n += inWindow(t.cell.Load(), bucket)
	}
	return n
}
