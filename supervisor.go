package redisguard

import (
	"context"
	"errors"
	"fmt"
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
