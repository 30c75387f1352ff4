package breaker

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"
)

// A window counts the outcomes of one closed period of a breaker, over the
// last windowBuckets buckets of time, without a lock and without one memory
// word that every call writes: successes, the common outcome, go to one of
// several shards picked at random, each on its own cache lines, and the
// failure run is written only by failures and by the first success after one.
// Buckets are never swept: each counter carries the number of the bucket it
// counts, and the first write in a later bucket starts it afresh.
//
// Successes and exclusions do not read the clock either (it costs more than
// the rest of the closed path): they take the bucket number from clock, which
// a timer advances at each bucket boundary. The timer runs only while calls
// come: each tick stops it, and the next call restarts it. A success counted
// in the moments between a boundary and the tick goes in the bucket before,
// and leaves the window that much early. Failures read the clock, since they
// judge the window.
type window struct {
	start  time.Time // carries a monotonic reading: Since(start) is cheap
	period time.Duration
	shards []shard // a power of two of them
	ticker *time.Timer
	_      [64]byte
	// clock is the present bucket number times two, plus one while the
	// ticker runs (when it is even, the number may be old).
	clock atomic.Uint64
	_     [56]byte
	// run is the failure run going on: the bucket it began in (high 32 bits)
	// and its length (low 32 bits); zero when the last outcome was a success.
	run atomic.Uint64
	_   [56]byte
}

// A stamped counter holds a bucket number in its high 32 bits and a count in
// its low 32 bits. Bucket numbers are compared in serial arithmetic, so they
// may wrap (after 49 days of 1 ms buckets).
type stamped = atomic.Uint64

type cell struct {
	successes, failures, exclusions stamped
}

type shard struct {
	cells [windowBuckets]cell
	_     [(64 - windowBuckets*24%64) % 64]byte // a shard fills whole cache lines
}

// maxShards bounds a window's memory (64 × 256 B) on a machine with many cores.
const maxShards = 64

func newWindow(now time.Time, length time.Duration) *window {
	// Four shards a core: two cores writing the same shard at once is rare.
	n := min(maxShards, 1<<bits.Len(uint(4*runtime.GOMAXPROCS(0)-1)))
	w := &window{start: now, period: length / windowBuckets, shards: make([]shard, n)}
	w.ticker = time.AfterFunc(time.Hour, w.tick)
	w.ticker.Stop()
	return w
}

// bucket is the number of the bucket the present moment falls in, from the
// clock.
func (w *window) bucket() uint32 {
	return uint32(time.Since(w.start) / w.period)
}

// recentBucket is bucket without reading the clock while the ticker runs.
func (w *window) recentBucket() uint32 {
	c := w.clock.Load()
	if c&1 == 1 {
		return uint32(c >> 1)
	}
	elapsed := time.Since(w.start)
	b := uint32(elapsed / w.period)
	if w.clock.CompareAndSwap(c, uint64(b)<<1|1) {
		w.ticker.Reset(w.period - elapsed%w.period)
	}
	return b
}

// tick runs at a bucket boundary. It stops the ticker: the next call starts it
// again, so that an idle breaker costs nothing.
func (w *window) tick() {
	w.clock.Store(uint64(w.bucket()) << 1)
}

func (w *window) cell(bucket uint32) *cell {
	s := &w.shards[rand.Uint32()&uint32(len(w.shards)-1)]
	return &s.cells[bucket%windowBuckets]
}

func (w *window) success() {
	b := w.recentBucket()
	add(&w.cell(b).successes, b)
	if w.run.Load() != 0 {
		w.run.Store(0)
	}
}

func (w *window) exclusion() {
	b := w.recentBucket()
	add(&w.cell(b).exclusions, b)
}

// failure counts a failure and returns the counts it leaves.
func (w *window) failure() Counts {
	b := w.bucket()
	add(&w.cell(b).failures, b)
	for {
		old := w.run.Load()
		next := uint64(b)<<32 | 1
		if old != 0 && uint32(old) < math.MaxUint32 {
			next = old + 1
		}
		if w.run.CompareAndSwap(old, next) {
			break
		}
	}
	return w.counts(b)
}

// add counts one in c for the given bucket.
func add(c *stamped, bucket uint32) {
	for {
		old := c.Load()
		stamp, n := uint32(old>>32), uint32(old)
		next := old + 1
		switch {
		case int32(bucket-stamp) > 0:
			next = uint64(bucket)<<32 | 1 // c counts an older bucket: start afresh
		case n == math.MaxUint32:
			return
		}
		// Otherwise c counts this bucket, or a later one a caller that read
		// the clock after this one started: counting there is as good.
		if c.CompareAndSwap(old, next) {
			return
		}
	}
}

// counts sums the window that ends with the given bucket.
func (w *window) counts(bucket uint32) Counts {
	var c Counts
	for i := range w.shards {
		for j := range w.shards[i].cells {
			cl := &w.shards[i].cells[j]
			c.TotalSuccesses += inWindow(cl.successes.Load(), bucket)
			c.TotalFailures += inWindow(cl.failures.Load(), bucket)
			c.TotalExclusions += inWindow(cl.exclusions.Load(), bucket)
		}
	}
	c.Requests = c.TotalSuccesses + c.TotalFailures + c.TotalExclusions
	if run := w.run.Load(); run != 0 {
		c.ConsecutiveFailures = uint32(run)
		if int32(bucket-uint32(run>>32)) >= windowBuckets {
			// The run began before the window: only the failures still in
			// it count, and since it began every failure is part of it.
			c.ConsecutiveFailures = min(c.ConsecutiveFailures, c.TotalFailures)
		}
	}
	return c
}

// inWindow is the count of v when its bucket is one of the windowBuckets
// ending with bucket (or a later one, counted by a caller with a later clock).
func inWindow(v uint64, bucket uint32) uint32 {
	if d := int32(bucket - uint32(v>>32)); d >= windowBuckets || d <= -windowBuckets {
		return 0
	}
	return uint32(v)
}
