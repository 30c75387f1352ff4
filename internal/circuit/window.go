package circuit

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
// word that every call writes: successes, the common outcome, and exclusions
// go to one of several shards picked at random, each on its own cache lines;
// failures, rare while closed, go to counters of their own.
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
	// tallies count successes too, each in memory of its own.
	tallies tallies
	_       [64]byte
	// What a success reads, on one cache line: the tallies' successes touch
	// no other memory of the breaker's (see Tally.Success).
	//
	// clock is the present bucket number times two, plus one while the
	// ticker runs (when it is even, the number may be old).
	clock atomic.Uint64
	// run is the failure run going on: the bucket it began in (high 32 bits)
	// and its length (low 32 bits); zero when the last outcome was a success.
	// Only failures, rare while closed, and the first success after one
	// write it.
	run atomic.Uint64
	// over: the closed phase the window counts for has ended.
	over     atomic.Bool
	_        [44]byte
	failures [windowBuckets]stamped
	_        [(64 - windowBuckets*8%64) % 64]byte
}

// A stamped counter holds a bucket number in its high 32 bits and a count in
// its low 32 bits. Bucket numbers are compared in serial arithmetic, so they
// may wrap (after 49 days of 1 ms buckets).
type stamped = atomic.Uint64

// A cell counts successes and exclusions in one shard and bucket.
type cell [shardedKinds]stamped

const (
	succeeded = iota
	excluded
	shardedKinds
)

type shard struct {
	cells [windowBuckets]cell
	_     [(64 - windowBuckets*shardedKinds*8%64) % 64]byte // a shard fills whole cache lines
}

// maxShards bounds a window's memory (64 × 192 B) on a machine with many cores.
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

// count counts a success or an exclusion in bucket, in a shard picked at
// random.
func (w *window) count(kind int, bucket uint32) {
	s := &w.shards[rand.Uint32()&uint32(len(w.shards)-1)]
	add(&s.cells[bucket%windowBuckets][kind], bucket)
}

func (w *window) success() {
	w.count(succeeded, w.recentBucket())
	if w.run.Load() != 0 {
		w.run.Store(0)
	}
}

func (w *window) exclusion() {
	w.count(excluded, w.recentBucket())
}

// failure counts a failure and returns the bucket it fell in.
func (w *window) failure() uint32 {
	b := w.bucket()
	add(&w.failures[b%windowBuckets], b)
	for {
		old := w.run.Load()
		next := uint64(b)<<32 | 1
		if old != 0 && uint32(old) < math.MaxUint32 {
			next = old + 1
		}
		if w.run.CompareAndSwap(old, next) {
			return b
		}
	}
}

// addSuccesses counts n successes in bucket, from a tally, unless the window
// that ends with now has moved past it.
func (w *window) addSuccesses(bucket, n, now uint32) {
	if n > 0 && int32(now-bucket) < windowBuckets {
		addN(&w.shards[bucket&uint32(len(w.shards)-1)].cells[bucket%windowBuckets][succeeded], bucket, n)
	}
}

// add counts one in c for the given bucket.
func add(c *stamped, bucket uint32) { addN(c, bucket, 1) }

// addN counts n in c for the given bucket.
func addN(c *stamped, bucket, n uint32) {
	for {
		old := c.Load()
		stamp, count := uint32(old>>32), uint32(old)
		next := old + uint64(min(n, math.MaxUint32-count))
		switch {
		case int32(bucket-stamp) > 0:
			next = uint64(bucket)<<32 | uint64(n) // c counts an older bucket: start afresh
		case count == math.MaxUint32:
			return
		}
		// Otherwise c counts this bucket, or a later one a caller that read
		// the clock after this one started: counting there is as good.
		if c.CompareAndSwap(old, next) {
			return
		}
	}
}

// sum adds up the successes (the tallies' included) or the exclusions in the
// window that ends with bucket.
func (w *window) sum(kind int, bucket uint32) uint32 {
	var n uint32
	if kind == succeeded {
		n = w.tallies.sum(bucket)
	}
	for i := range w.shards {
		for j := range w.shards[i].cells {
			n += inWindow(w.shards[i].cells[j][kind].Load(), bucket)
		}
	}
	return n
}

// failed adds up the failures in the window that ends with bucket.
func (w *window) failed(bucket uint32) uint32 {
	var n uint32
	for i := range w.failures {
		n += inWindow(w.failures[i].Load(), bucket)
	}
	return n
}

// consecutiveFailures is the length of the failure run going on, counting only
// its failures in the window that ends with bucket, of which there are
// failures in all.
func (w *window) consecutiveFailures(bucket, failures uint32) uint32 {
	run := w.run.Load()
	if run == 0 {
		return 0
	}
	if int32(bucket-uint32(run>>32)) >= windowBuckets {
		// The run began before the window: every failure in the window is
		// part of it.
		return min(uint32(run), failures)
	}
	return uint32(run)
}

// counts sums the window that ends with bucket.
func (w *window) counts(bucket uint32) Counts {
	c := Counts{
		TotalSuccesses:  w.sum(succeeded, bucket),
		TotalFailures:   w.failed(bucket),
		TotalExclusions: w.sum(excluded, bucket),
	}
	c.Requests = c.TotalSuccesses + c.TotalFailures + c.TotalExclusions
	c.ConsecutiveFailures = w.consecutiveFailures(bucket, c.TotalFailures)
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
