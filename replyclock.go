package redisguard

import (
	"sync/atomic"
	"time"
)

// replyClock spares a node's connections a reading of the system clock at
// every reply, which costs as much as the rest of their bookkeeping: a reply
// that came before the clock's next tick after its request was written took
// less than a tick's period, well under the slow-call threshold, and is judged
// without the system clock. A reply that spans a tick reads it.
//
// The clock ticks every quarter of the threshold while commands are in
// flight, and stops when none are; a write starts it again. A reply that took
// the threshold or longer is judged fast wrongly only if the running clock did
// not tick meanwhile: its timer fired three quarters of the threshold late, or
// more. A host that busy delays the reply's reader as much, and the system
// clock would then count the delay against the server.
type replyClock struct {
	c      *Client
	period time.Duration
	timer  *time.Timer
	busy   func() bool // whether commands are in flight where the clock serves

	// What connections read at every reply, padded so that no cache line
	// holding it holds anything written more often.
	_ [64]byte
	// last is the system clock (Client.clock) at the last tick, or when the
	// clock started.
	last    atomic.Int64
	running atomic.Bool
	stopped atomic.Bool
	_       [64]byte
}

func newReplyClock(c *Client, threshold time.Duration, busy func() bool) *replyClock {
	r := &replyClock{c: c, period: threshold / 4, busy: busy}
	r.timer = time.AfterFunc(time.Hour, r.tick)
	r.timer.Stop()
	return r
}

// written notes that a request was written at now (a Client.clock reading),
// starting the clock if it was stopped.
func (r *replyClock) written(now int64) {
	if !r.running.Load() {
		r.start(now)
	}
}

// start starts the clock at now unless it runs already or was stopped for
// good. Its reading moves forward first: a reply that sees it running sees a
// reading from after the clock last (re)started.
func (r *replyClock) start(now int64) {
	if r.stopped.Load() {
		return
	}
	r.advance(now)
	if r.running.CompareAndSwap(false, true) {
		r.timer.Reset(r.period)
	}
}

// advance sets the clock's reading to now, unless a later one is there: the
// reading never goes back, or a reply written after the later one could be
// judged quick across a tick.
func (r *replyClock) advance(now int64) {
	for {
		last := r.last.Load()
		if last >= now || r.last.CompareAndSwap(last, now) {
			return
		}
	}
}

// quick reports whether the reply arriving now to a request written at
// writeAt came within a tick's period: no tick since the write, and the clock
// ran all along (had it stopped and started again, its last reading would be
// after the write).
func (r *replyClock) quick(writeAt int64) bool {
	return r.running.Load() && r.last.Load() < writeAt
}

// tick reads the system clock and goes on ticking while commands are in
// flight. Before it stops, it looks once more: a command admitted before a
// write that saw the clock running is counted by then.
func (r *replyClock) tick() {
	r.advance(r.c.clock())
	if r.stopped.Load() {
		r.running.Store(false)
		return
	}
	if r.busy() {
		r.timer.Reset(r.period)
		return
	}
	r.running.Store(false)
	if r.busy() {
		r.start(r.c.clock())
	}
}

// stop stops the clock for good: its node is closed. Replies still to come
// read the system clock.
func (r *replyClock) stop() {
	r.stopped.Store(true)
	r.timer.Stop()
	r.running.Store(false)
}
