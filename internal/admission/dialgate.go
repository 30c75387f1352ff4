package admission

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// busyBackoff bounds the pause in new dials after the server refused one for
// max clients: doubling from the first to the last.
const (
	busyBackoffMin = 100 * time.Millisecond
	busyBackoffMax = 3 * time.Second
)

// DialGate paces the new connections of a node that is ready. The pool may
// fill at once (a burst of PoolSize); after that a connection closed cleanly
// (idle, expired) gives its dial back, while one thrown away with its reply
// still pending does not, and dials beyond the burst come at the dial rate. A
// server that is slow but alive thus never sees one new connection per
// command. A server that refused a connection for max clients gets a pause in
// new dials, doubling while it keeps refusing, and the connections the pool
// already has go on serving; after the pause one dial tries again, and the
// others wait for its outcome.
type DialGate struct {
	closed     error // a dial's error once the client closed
	mu         sync.Mutex
	tokens     float64
	burst      float64
	rate       float64 // tokens per second
	refilled   time.Time
	busyUntil  time.Time
	busyStreak int
	probeUntil time.Time // after a pause, until when one dial tries alone
	// refunded is closed and replaced at every Refund: a dial waiting for
	// the rate takes the dial given back at once, not at its next look.
	refunded chan struct{}
}

// While new dials pause, a dial waiting for the gate looks again every
// pausePoll, and after a pause one dial tries alone for at most probeTimeout
// before another may.
const (
	pausePoll    = 20 * time.Millisecond
	probeTimeout = time.Second
)

// Init readies the gate of a pool of poolSize connections that may dial rate
// more per second; closed is the error of a dial once the client closed.
func (g *DialGate) Init(poolSize int, rate float64, closed error) {
	g.closed = closed
	g.burst = float64(max(poolSize, 1))
	g.tokens = g.burst
	g.rate = rate
	g.refilled = time.Now()
	g.refunded = make(chan struct{})
}

// ErrDialPaused is the failure of a dial the gate did not let through before
// its context ended: the server refused a connection lately, and until the
// pause ends the pool does with the connections it has.
var ErrDialPaused = errors.New("redisguard: new connections paused: the server refused one lately")

// Take waits for the right to dial, bounded by ctx and by client, the
// client's context, which ends when it closes. While new connections are
// paused and the pool has connections (pooled), it refuses at once with
// ErrDialPaused: go-redis gives a connection put back to its pool to the next
// command that asks, not to one waiting for a dial, so that a command whose
// dial waited out the pause would wait while the pool's connections serve
// the others; refused, it asks the pool again (see the root package's afterFailure). With no
// connection in the pool, it waits for the pause to end.
func (g *DialGate) Take(ctx, client context.Context, pooled func() bool) error {
	for {
		wait, paused, refunded := g.reserve()
		if wait <= 0 {
			return nil
		}
		if paused && pooled() {
			return &net.OpError{Op: "dial", Net: "tcp", Err: ErrDialPaused}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-refunded:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			err := ctx.Err()
			if paused {
				err = ErrDialPaused
			}
			return &net.OpError{Op: "dial", Net: "tcp", Err: err}
		case <-client.Done(): // the client is closing
			t.Stop()
			return &net.OpError{Op: "dial", Net: "tcp", Err: g.closed}
		}
	}
}

// reserve takes a dial and returns 0, or returns how long to wait before
// asking again, whether that is because new connections are paused, and the
// channel closed at the next Refund.
func (g *DialGate) reserve() (wait time.Duration, paused bool, refunded <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	switch {
	case now.Before(g.busyUntil):
		return min(g.busyUntil.Sub(now), pausePoll), true, g.refunded
	case g.busyStreak > 0 && now.Before(g.probeUntil):
		return pausePoll, true, g.refunded // another dial tries the server after its pause
	case g.busyStreak > 0:
		g.probeUntil = now.Add(probeTimeout)
	}
	g.tokens = min(g.burst, g.tokens+now.Sub(g.refilled).Seconds()*g.rate)
	g.refilled = now
	if g.tokens >= 1 {
		g.tokens--
		return 0, false, nil
	}
	return time.Duration((1 - g.tokens) / g.rate * float64(time.Second)), false, g.refunded
}

// Refund gives a dial back: the dial failed, or its connection closed
// cleanly. A dial trying the server after a pause that failed lets another
// try.
func (g *DialGate) Refund() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens = min(g.burst, g.tokens+1)
	g.probeUntil = time.Time{}
	if g.refunded != nil { // nil before Init
		close(g.refunded)
	}
	g.refunded = make(chan struct{})
}

// Busy pauses new dials after a refusal for max clients.
func (g *DialGate) Busy() {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := busyBackoffMin << min(g.busyStreak, 8)
	g.busyStreak++
	g.busyUntil = time.Now().Add(min(d, busyBackoffMax))
	g.probeUntil = time.Time{}
}

// Accepted ends a pause: the server took a new connection.
func (g *DialGate) Accepted() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busyStreak = 0
	g.probeUntil = time.Time{}
}

// Burst is how many dials the gate lets through at once: the pool's size.
func (g *DialGate) Burst() int { return int(g.burst) }
