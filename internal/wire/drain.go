package wire

import (
	"context"
	"sync"
	"time"

	"github.com/redisguard/redisguard/internal/outcome"
)

// Drainer drains the connections go-redis threw away with a reply pending
// because the caller's deadline passed (or a timeout shorter than the
// breaker's slow-call threshold): each is read until its first reply byte or
// the threshold, counted from the write (from the first event of the node's
// reply clock after it), whichever comes first. A caller in a hurry thus
// never opens the breaker on a healthy server, while a server that does not
// answer within the threshold, a paused one say, is counted however short the
// callers' deadlines are.
type Drainer struct {
	closing      context.Context // done once the client closes: drains end uncounted
	goBackground func(func()) bool
	epoch        time.Time // the zero of the Endpoints' Now
	now          func() int64

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
}

// NewDrainer returns the drainer of a client whose connections' system
// clock is now, counted from epoch. It drains on goroutines that
// goBackground starts, unless it reports the client closing; closing is done
// when it closes.
func NewDrainer(closing context.Context, goBackground func(func()) bool, epoch time.Time, now func() int64) *Drainer {
	return &Drainer{closing: closing, goBackground: goBackground, epoch: epoch, now: now, conns: make(map[*Conn]struct{})}
}

// start drains tc in the background and reports true, or reports false when
// tc must simply be closed: the client is closing, or its node already drains
// as many connections as its pool holds.
func (d *Drainer) start(tc *Conn, stamp uint64) bool {
	e := tc.e
	b := e.Owner.Breaker()
	if b == nil {
		return false
	}
	// From the reply clock's first event after the write, or now: no earlier
	// than the write, so that a server is never given less than the threshold.
	deadline := d.epoch.Add(time.Duration(e.Clock.WrittenBy(stamp, d.now())) + b.SlowCallThreshold())
	if !time.Now().Before(deadline) {
		if tc.current() {
			e.Owner.Slow(b, stamp) // already late, and abandoned before a read noticed
		}
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || e.draining.Load() >= e.MaxDrains {
		return false
	}
	e.draining.Add(1)
	d.conns[tc] = struct{}{}
	if !d.goBackground(func() { d.drain(tc, stamp, deadline) }) {
		e.draining.Add(-1)
		delete(d.conns, tc)
		return false
	}
	return true
}

// drain reads tc's pending reply, written at the reply clock's stamp, until
// deadline. A reply by then shows a server that answers within the slow-call
// threshold: the connection gives its dial back and asks its owner for a
// replacement, so that a pool whose callers are in a hurry refills at the
// speed of the server instead of the dial rate, and is not left smaller than
// its load needs (a pool too small keeps the deadlines failing), and an open
// breaker hears that the server answers. No reply is a slow call.
func (d *Drainer) drain(tc *Conn, stamp uint64, deadline time.Time) {
	e := tc.e
	defer func() {
		_ = tc.Conn.Close()
		e.draining.Add(-1)
		d.mu.Lock()
		delete(d.conns, tc)
		d.mu.Unlock()
	}()
	if err := tc.Conn.SetReadDeadline(deadline); err != nil {
		return
	}
	var one [1]byte
	n, err := tc.Conn.Read(one[:])
	b := e.Owner.Breaker()
	switch {
	case b == nil || d.closing.Err() != nil || !tc.current():
	case n > 0:
		e.Owner.Refund()
		e.Owner.Answered(b, stamp)
		e.Owner.Replace()
	case outcome.IsTimeout(err):
		e.Owner.Slow(b, stamp)
	}
}

// Stop ends every drain at once, uncounted: the client is closing.
func (d *Drainer) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for tc := range d.conns {
		_ = tc.Conn.SetReadDeadline(time.Now())
	}
}
