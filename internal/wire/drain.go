package redisguard

import (
	"sync"
	"time"

	"github.com/redisguard/redisguard/internal/outcome"
)

// drainer drains the connections go-redis threw away with a reply pending
// because the caller's deadline passed (or a timeout shorter than the
// breaker's slow-call threshold): each is read until its first reply byte or
// the threshold, counted from the write (from the first event of the node's
// reply clock after it), whichever comes first. A caller in a hurry thus
// never opens the breaker on a healthy server, while a server that does not
// answer within the threshold, a paused one say, is counted however short the
// callers' deadlines are.
type drainer struct {
	c      *Client
	mu     sync.Mutex
	conns  map[*timedConn]struct{}
	closed bool
}

// start drains tc in the background and reports true, or reports false when
// tc must simply be closed: the client is closing, or its node already drains
// as many connections as its pool holds.
func (d *drainer) start(tc *timedConn, stamp uint64) bool {
	b := tc.n.breaker.Load()
	if b == nil {
		return false
	}
	// From the reply clock's first event after the write, or now: no earlier
	// than the write, so that a server is never given less than the threshold.
	deadline := d.c.epoch.Add(time.Duration(tc.n.replies.WrittenBy(stamp, d.c.clock())) + b.SlowCallThreshold())
	if !time.Now().Before(deadline) {
		if tc.current() {
			tc.n.chargeSlow(b, stamp) // already late, and abandoned before a read noticed
		}
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || tc.n.draining.Load() >= int32(tc.n.dials.burst) {
		return false
	}
	tc.n.draining.Add(1)
	d.conns[tc] = struct{}{}
	if !d.c.goBackground(func() { d.drain(tc, stamp, deadline) }) {
		tc.n.draining.Add(-1)
		delete(d.conns, tc)
		return false
	}
	return true
}

// drain reads tc's pending reply, written at the reply clock's stamp, until
// deadline. A reply by then shows a server that answers within the slow-call
// threshold: the connection gives its dial back, so that a pool whose callers
// are in a hurry refills at the speed of the server instead of the dial rate
// (a pool kept small by its own pacing would keep the deadlines failing), and
// an open breaker hears that the server answers. No reply is a slow call.
func (d *drainer) drain(tc *timedConn, stamp uint64, deadline time.Time) {
	defer func() {
		_ = tc.Conn.Close()
		tc.n.draining.Add(-1)
		d.mu.Lock()
		delete(d.conns, tc)
		d.mu.Unlock()
	}()
	if err := tc.Conn.SetReadDeadline(deadline); err != nil {
		return
	}
	var one [1]byte
	n, err := tc.Conn.Read(one[:])
	b := tc.n.breaker.Load()
	switch {
	case b == nil || d.c.ctx.Err() != nil || !tc.current():
	case n > 0:
		tc.n.dials.refund()
		tc.n.answered(b, stamp)
	case outcome.IsTimeout(err):
		tc.n.chargeSlow(b, stamp)
	}
}

// stop ends every drain at once, uncounted: the client is closing.
func (d *drainer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for tc := range d.conns {
		_ = tc.Conn.SetReadDeadline(time.Now())
	}
}
