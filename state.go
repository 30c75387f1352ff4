package redisguard

import (
	"context"
)

// State is where the client is in its connection lifecycle:
//
//	connecting → ready → reconnecting → ready … → closed
//
// Commands run only in StateReady; in the other states they are refused at once
// (or, with Options.OfflineQueue, wait for StateReady).
type State int32

const (
	// StateConnecting: New returned and the first connection is being made.
	StateConnecting State = iota
	// StateReady: the server answered; commands run.
	StateReady
	// StateReconnecting: the connection was lost; the supervisor is retrying
	// according to Options.Reconnect.
	StateReconnecting
	// StateClosed: Close was called or the reconnect strategy gave up. Final.
	StateClosed
)

// String gives connecting, ready, reconnecting or closed.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateReady:
		return "ready"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	default:
		return "unknown"
	}
}

// State returns the current lifecycle state. On a cluster it is ready while any
// node serves, reconnecting while none does.
func (c *Client) State() State { return State(c.state.Load()) }

// Breaker returns the status of the circuit breaker of the server a
// standalone or Sentinel client sends its commands to (a new master has a new
// breaker), and true; or false when Options.DisableBreaker turned it off. A
// cluster has one breaker per node: Breaker returns false, and Nodes returns
// each.
func (c *Client) Breaker() (BreakerStatus, bool) {
	if c.solo == nil {
		return BreakerStatus{}, false
	}
	return c.solo.breakerStatus()
}

// NodeStatus describes one server of the client.
type NodeStatus struct {
	Addr       string
	State      State
	Breaker    BreakerStatus // the zero BreakerStatus when HasBreaker is false
	HasBreaker bool          // false when Options.DisableBreaker turned breakers off
	LastError  error         // the last connection error while it is not ready, without secrets
}

// Nodes returns the servers the client knows, in address order: the one of a
// standalone or Sentinel client, every node of a cluster's slot map.
func (c *Client) Nodes() []NodeStatus {
	var nodes []*node
	if c.solo != nil {
		nodes = []*node{c.solo}
	} else {
		nodes = c.cluster.list()
	}
	out := make([]NodeStatus, 0, len(nodes))
	for _, n := range nodes {
		if n.retired.Load() {
			continue // the slot map no longer names it
		}
		st, _, last := n.snapshot()
		b, hasBreaker := n.breakerStatus()
		out = append(out, NodeStatus{Addr: n.address(), State: st, Breaker: b, HasBreaker: hasBreaker, LastError: last})
	}
	return out
}

// LastError returns the last connection error of the client's servers while
// one is not ready (on a cluster, of a node that is down), or nil. It holds no
// password.
func (c *Client) LastError() error {
	if c.solo != nil {
		return c.solo.lastError()
	}
	return c.cluster.lastError()
}

// WaitReady blocks until the client is ready (nil), closed (ErrClosed or the
// error wrapping ErrMaxRetriesReached) or ctx ends. In the last case the error
// wraps ctx.Err() together with the last connection error, which says why the
// client could not connect (a refused password, an unknown TLS certificate).
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		st, changed, endErr := c.snapshot()
		switch st {
		case StateReady:
			return nil
		case StateClosed:
			return endErr
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if last := c.LastError(); last != nil {
				return &waitError{ctx: ctx.Err(), last: last}
			}
			return ctx.Err()
		}
	}
}

// waitError is WaitReady's error when its context ended before the client
// was ready: the context's error, and the last connection error.
type waitError struct{ ctx, last error }

func (e *waitError) Error() string {
	return e.ctx.Error() + " waiting for redis: last connection error: " + e.last.Error()
}

func (e *waitError) Unwrap() []error { return []error{e.ctx, e.last} }

// snapshot returns the state, the channel closed at its next change, and the
// closing error, consistently.
func (c *Client) snapshot() (State, <-chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.State(), c.changed, c.endErr
}

// setStateLocked changes the state and wakes every waiter. c.mu must be held.
func (c *Client) setStateLocked(s State) {
	if State(c.state.Load()) == s {
		return
	}
	c.state.Store(int32(s))
	close(c.changed)
	c.changed = make(chan struct{})
}

// nodeChanged derives the client's state from its nodes' after n changed: a
// standalone or Sentinel client is its node; a cluster is ready while any node
// is, connecting until one first is.
func (c *Client) nodeChanged(n *node) {
	c.mu.Lock()
	if c.State() == StateClosed {
		c.mu.Unlock()
		return
	}
	var st State
	if c.solo != nil {
		st = c.solo.State()
	} else {
		st = c.cluster.derive(c.everReady)
	}
	if st == StateClosed {
		c.mu.Unlock()
		return
	}
	becameReady := st == StateReady && c.State() != StateReady
	if st == StateReady {
		c.everReady = true
	}
	c.setStateLocked(st)
	c.mu.Unlock()
	if becameReady {
		c.events.ready()
	}
}

// nodeExhausted handles a node whose reconnect strategy gave up. A standalone
// or Sentinel client gives up with it; a cluster gives up only when every
// node it knows has, and otherwise the node goes on being probed. It reports
// whether the node's supervisor goes on.
func (c *Client) nodeExhausted(n *node, strategyErr error, attempts int, cause error) bool {
	n.exhausted.Store(true)
	if c.cluster != nil && !c.cluster.allExhausted() {
		return c.ctx.Err() == nil
	}
	c.giveUp(newGiveUpError(strategyErr, attempts, c.redactErr(cause)))
	return false
}

// giveUp closes the client for good after the strategy refused another attempt.
func (c *Client) giveUp(err error) {
	c.mu.Lock()
	if c.State() == StateClosed {
		c.mu.Unlock()
		return
	}
	c.endErr = err
	c.setStateLocked(StateClosed)
	c.mu.Unlock()
	c.closeNodes()
	c.events.error(err)
	c.events.end(err)
}

// closedErr is what a command gets once the client is closed.
func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endErr == nil {
		return ErrClosed
	}
	return c.endErr
}
