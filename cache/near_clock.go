package cache

import (
	"sync/atomic"
	"time"
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
