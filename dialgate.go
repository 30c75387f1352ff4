package redisguard

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultDialRate is how many new connections per second a node may open
// beyond its pool's size while connections are being thrown away with a
// reply still pending (timeouts, resets).
const DefaultDialRate = 5

// busyBackoff bounds the pause in new dials after the server refused one for
// max clients: doubling from the first to the last.
const (
	busyBackoffMin = 100 * time.Millisecond
	busyBackoffMax = 3 * time.Second
)

// dialGate paces the new connections of a node that is ready. The pool may
// fill at once (a burst of PoolSize); after that a connection closed cleanly
// (idle, expired) gives its dial back, while one thrown away with its reply
// still pending does not, and dials beyond the burst come at the dial rate. A
// server that is slow but alive thus never sees one new connection per
// command. A server that refused a connection for max clients gets a pause in
// new dials, doubling while it keeps refusing, and the connections the pool
// already has go on serving.
type dialGate struct {
	mu         sync.Mutex
	tokens     float64
	burst      float64
	rate       float64 // tokens per second
	refilled   time.Time
	busyUntil  time.Time
	busyStreak int
}

func (g *dialGate) init(poolSize int, rate float64) {
	g.burst = float64(max(poolSize, 1))
	g.tokens = g.burst
	g.rate = rate
	g.refilled = time.Now()
}

// errDialPaused is the failure of a dial the gate did not let through: the
// server refused a connection lately, and until the pause ends the pool does
// with the connections it has.
var errDialPaused = errors.New("redisguard: new connections paused: the server refused one lately")

// take waits for the right to dial, bounded by ctx and by client, the
// client's context, which ends when it closes. While new connections are
// paused it fails at once, as a dial that never happened: a dial that waited
// for the pause to end would open a connection the server refuses again,
// after the command it was for was served by a pooled one.
func (g *dialGate) take(ctx, client context.Context) error {
	for {
		wait, paused := g.reserve()
		switch {
		case paused:
			return &net.OpError{Op: "dial", Net: "tcp", Err: errDialPaused}
		case wait <= 0:
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
		case <-client.Done(): // the client is closing
			t.Stop()
			return &net.OpError{Op: "dial", Net: "tcp", Err: ErrClosed}
		}
	}
}

// reserve takes a dial and returns 0, or returns how long to wait for one,
// or reports that new connections are paused.
func (g *dialGate) reserve() (wait time.Duration, paused bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Before(g.busyUntil) {
		return 0, true
	}
	g.tokens = min(g.burst, g.tokens+now.Sub(g.refilled).Seconds()*g.rate)
	g.refilled = now
	if g.tokens >= 1 {
		g.tokens--
		return 0, false
	}
	return time.Duration((1 - g.tokens) / g.rate * float64(time.Second)), false
}

// refund gives a dial back: the dial failed, or its connection closed cleanly.
func (g *dialGate) refund() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens = min(g.burst, g.tokens+1)
}

// busy pauses new dials after a refusal for max clients.
func (g *dialGate) busy() {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := busyBackoffMin << min(g.busyStreak, 8)
	g.busyStreak++
	g.busyUntil = time.Now().Add(min(d, busyBackoffMax))
}

// accepted ends a pause: the server took a new connection.
func (g *dialGate) accepted() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busyStreak = 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
