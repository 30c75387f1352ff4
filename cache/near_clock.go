package cache

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// coarseTick is how often a Near's clock advances. A hit compares it with
// bounds of a second or more (the heartbeat, MaxStaleness) and with expiries
// in milliseconds, so a millisecond is as fine as it needs to be; reading it
// is one load of a word written a thousand times a second, where time.Now is
// a fifth of a hit.
const coarseTick = time.Millisecond

// coarseClock is the time in Unix nanoseconds, advanced every coarseTick by
// the goroutine of its Near (see Near.start).
type coarseClock struct {
	_   [64]byte // a line of its own: hits on every core read it
	now atomic.Int64
	_   [56]byte
}

func (c *coarseClock) set(t time.Time) { c.now.Store(t.UnixNano()) }

func (c *coarseClock) nanos() int64 { return c.now.Load() }

// run advances the clock until stop is closed.
func (c *coarseClock) run(stop <-chan struct{}) {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.set(now)
		}
	}
}

// hitStripes is the number of counters a near hit spreads over. A hit adds
// to the stripe of its goroutine's stack, so goroutines running on different
// cores rarely write the same cache line; Stats sums the stripes.
const hitStripes = 64

type stripedCounter struct {
	c [hitStripes]paddedCounter
}

func (s *stripedCounter) add() {
	var here byte
	// The address of a local names the goroutine's stack; mixing it spreads
	// stacks, which lie a few kilobytes apart, over the stripes.
	h := uint64(uintptr(unsafe.Pointer(&here))>>10) * 0x9E3779B97F4A7C15
	s.c[h>>(64-6)].Add(1)
}

func (s *stripedCounter) load() uint64 {
	var n uint64
	for i := range s.c {
		n += s.c[i].Load()
	}
	return n
}
