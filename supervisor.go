package redisguard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// supervise is the one goroutine that reconnects a node: callers never dial a
// server the node considers down, so however many goroutines call, the server
// sees the attempts of the backoff schedule and no more. It runs from the
// node's loss (or, with first, its first connection) until the node is ready
// again, the cluster's slot map forgets it, or the client closes; it delivers
// the node's lifecycle events in order.
func (n *node) supervise(cause error) {
	c := n.c
	if cause == nil { // the first connection: at once, no delay
		if cause = n.attempt(); cause == nil {
			n.becomeReady()
			return
		}
		if c.ctx.Err() != nil {
			return
		}
		n.attemptFailed(cause)
	} else {
		c.events.nodeError(n.address(), cause)
	}
	gone := serverGone(cause)
	var delay time.Duration
	for attempt := 1; ; attempt++ {
		next, err := c.cfg.reconnect.NextDelay(attempt, cause)
		if err != nil {
			if !c.nodeExhausted(n, err, attempt-1, cause) {
				return
			}
			// A cluster node whose schedule ran out while other nodes serve
			// keeps being probed at the schedule's last delay: the cluster
			// is alive, and the node may come back.
		} else {
			delay = max(next, 0)
		}
		if !n.setReconnecting() {
			return
		}
		c.events.nodeReconnecting(n.address(), attempt, delay)
		if !n.wait(delay) {
			return
		}
		began := time.Now()
		if cause = n.attempt(); cause == nil {
			if gone {
				n.probeAnswered(time.Since(began))
			}
			n.becomeReady()
			return
		}
		gone = gone || serverGone(cause)
		if c.ctx.Err() != nil {
			return
		}
		if errors.Is(cause, context.Canceled) {
			continue // abandoned for a new master's attempt, which follows at once
		}
		if c.retireIfForgotten(n) {
			return
		}
		n.attemptFailed(cause)
	}
}

// attempt makes one connection attempt within the connect timeout, or until
// a new master is announced (see abandonAttempt).
func (n *node) attempt() error {
	ctx, cancel := context.WithTimeout(n.c.ctx, n.c.cfg.connectTimeout)
	defer cancel()
	n.mu.Lock()
	n.cancelAttempt = cancel
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.cancelAttempt = nil
		n.mu.Unlock()
	}()
	return n.prober.probe(ctx, n)
}

// abandonAttempt ends the attempt in progress, if any, and makes the next one
// start at once: the Sentinels announced a new master, and the attempt may be
// waiting on the old one, frozen.
func (n *node) abandonAttempt() {
	n.mu.Lock()
	cancel := n.cancelAttempt
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	n.hurry()
}

// wait sleeps d, or less when a new master is announced. It returns false when
// the client is closing.
func (n *node) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.wake:
		return true
	case <-n.c.ctx.Done():
		return false
	}
}

func (n *node) setReconnecting() bool {
	n.mu.Lock()
	st := n.State()
	if st == StateClosed {
		n.mu.Unlock()
		return false
	}
	if st != StateReconnecting {
		n.setStateLocked(StateReconnecting)
	}
	n.mu.Unlock()
	if st != StateReconnecting {
		n.c.nodeChanged(n)
	}
	return true
}

// giveUpError is what every command gets once the reconnect strategy gave up:
// ErrMaxRetriesReached, ErrClosed (the client is closed for good) and the last
// connection error, for errors.Is.
type giveUpError struct {
	attempts    int
	strategyErr error // the strategy's own error when it is not ErrMaxRetriesReached
	cause       error
}

func (e *giveUpError) Error() string {
	msg := fmt.Sprintf("%v after %d attempts", ErrMaxRetriesReached, e.attempts)
	if e.strategyErr != nil {
		msg = fmt.Sprintf("%v: the reconnect strategy gave up after %d attempts (%v)", ErrMaxRetriesReached, e.attempts, e.strategyErr)
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *giveUpError) Unwrap() []error {
	errs := []error{ErrMaxRetriesReached, ErrClosed}
	if e.strategyErr != nil {
		errs = append(errs, e.strategyErr)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

func newGiveUpError(strategyErr error, attempts int, cause error) *giveUpError {
	e := &giveUpError{attempts: attempts, cause: cause}
	if !errors.Is(strategyErr, ErrMaxRetriesReached) {
		e.strategyErr = strategyErr
	}
	return e
}

// keepalive sends a PING to every ready node each PingInterval, so that a
// dead server is noticed even when the application is idle.
func (c *Client) keepalive() {
	t := time.NewTicker(c.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, n := range c.readyNodes() {
			wg.Go(func() { n.keepalive() })
		}
		wg.Wait()
	}
}

func (c *Client) readyNodes() []*node {
	var nodes []*node
	if c.solo != nil {
		nodes = []*node{c.solo}
	} else {
		nodes = c.cluster.list()
	}
	ready := nodes[:0]
	for _, n := range nodes {
		if n.State() == StateReady && n.client.Load() != nil {
			ready = append(ready, n)
		}
	}
	return ready
}

// keepalive sends one PING through the node's guarded client. A failure that
// means the connection is lost is reported by the guard; a PING that outlives
// the connect timeout is reported here, since the guard takes an ended context
// for the caller's own doing.
func (n *node) keepalive() {
	ctx, cancel := context.WithTimeout(n.c.ctx, n.c.cfg.connectTimeout)
	defer cancel()
	err := n.client.Load().Ping(ctx).Err()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		n.lost(fmt.Errorf("keepalive PING: %w", err))
	}
}

// ReconnectStrategy decides, after the connection was lost or a reconnect attempt
// failed, how long the supervisor waits before reconnect attempt number attempt
// (1 for the first), or that it gives up, by returning an error. cause is the error
// that ended the previous connection or attempt. It is the Go form of node-redis's
// reconnectStrategy.
type ReconnectStrategy interface {
	NextDelay(attempt int, cause error) (time.Duration, error)
}

// ReconnectFunc adapts a function to ReconnectStrategy, as http.HandlerFunc does for
// handlers. A negative delay is taken as zero.
type ReconnectFunc func(attempt int, cause error) (time.Duration, error)

// NextDelay calls f.
func (f ReconnectFunc) NextDelay(attempt int, cause error) (time.Duration, error) {
	return f(attempt, cause)
}

// ExponentialBackoff is the default reconnect strategy: the delay before attempt n is
// min(Base·2^(n−1), Max), times a random factor in [1−Jitter, 1+Jitter].
//
// With DefaultBackoff the delays are 100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000
// and 3000 ms (±10 %), and the client gives up after the tenth failed attempt:
// node-redis's usual reconnectStrategy, quick at first and never more than 3 s apart.
type ExponentialBackoff struct {
	// Base is the delay before the first attempt. Zero means 100 ms.
	Base time.Duration
	// Max caps every delay. Zero means 3 s. It must not be below Base.
	Max time.Duration
	// MaxRetries is the number of attempts before giving up with
	// ErrMaxRetriesReached. Zero means 10; -1 means never give up.
	MaxRetries int
	// Jitter spreads each delay by this fraction, in [0, 1), so that many
	// clients do not reconnect in step. Zero means no jitter (an exact schedule);
	// DefaultBackoff uses 0.1.
	Jitter float64
}

// DefaultBackoff returns the strategy used when Options.Reconnect is nil:
// ExponentialBackoff{Base: 100 ms, Max: 3 s, MaxRetries: 10, Jitter: 0.1}.
func DefaultBackoff() ExponentialBackoff {
	return ExponentialBackoff{
		Base:       100 * time.Millisecond,
		Max:        3 * time.Second,
		MaxRetries: 10,
		Jitter:     0.1,
	}
}

// NextDelay implements ReconnectStrategy.
func (b ExponentialBackoff) NextDelay(attempt int, _ error) (time.Duration, error) {
	b = b.withDefaults()
	if b.MaxRetries >= 0 && attempt > b.MaxRetries {
		return 0, ErrMaxRetriesReached
	}
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if b.Jitter > 0 {
		d = time.Duration(float64(d) * (1 - b.Jitter + 2*b.Jitter*rand.Float64()))
	}
	return d, nil
}

func (b ExponentialBackoff) withDefaults() ExponentialBackoff {
	def := DefaultBackoff()
	if b.Base == 0 {
		b.Base = def.Base
	}
	if b.Max == 0 {
		b.Max = def.Max
	}
	if b.MaxRetries == 0 {
		b.MaxRetries = def.MaxRetries
	}
	return b
}

func (b ExponentialBackoff) validate() []error {
	var errs []error
	if b.Base < 0 {
		errs = append(errs, optionErrorf("Reconnect.Base", "is %v: it must not be negative", b.Base))
	}
	if b.Max < 0 {
		errs = append(errs, optionErrorf("Reconnect.Max", "is %v: it must not be negative", b.Max))
	}
	if d := b.withDefaults(); b.Base >= 0 && b.Max >= 0 && d.Max < d.Base {
		errs = append(errs, optionErrorf("Reconnect.Max", "(%v) is below Reconnect.Base (%v)", d.Max, d.Base))
	}
	if b.MaxRetries < -1 {
		errs = append(errs, optionErrorf("Reconnect.MaxRetries", "is %d: use -1 to never give up", b.MaxRetries))
	}
	if math.IsNaN(b.Jitter) || b.Jitter < 0 || b.Jitter >= 1 {
		errs = append(errs, optionErrorf("Reconnect.Jitter", "is %v: it must lie in [0, 1)", b.Jitter))
	}
	return errs
}
