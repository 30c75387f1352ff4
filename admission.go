package redisguard

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/outcome"
)

// admit applies admission steps 1 and 2 for one command. On success the
// caller holds a queue slot, and must release it.
func (c *Client) admit() error {
	if c.State() == StateClosed {
		return c.closedErr()
	}
	if !c.queue.TakeOne() {
		return ErrQueueFull
	}
	return nil
}

// release gives back the queue slot of one command.
func (c *Client) release() {
	c.queue.ReleaseOne()
	c.signalDrained()
}

// admitBatch admits the commands of a pipeline, each holding a queue slot: a
// transaction all or none, a pipeline (an auto-pipelined batch among them) as
// many of its first commands as the limit lets through, the others refused
// with ErrQueueFull. It returns how many were admitted and the slots held.
func (c *Client) admitBatch(cmds []redis.Cmder) (admitted int, h admission.Hold, err error) {
	if c.State() == StateClosed {
		return 0, h, c.closedErr()
	}
	want := int64(len(cmds))
	if isTransaction(cmds) {
		want = min(want, c.cfg.queueLimit) // a transaction larger than the limit runs alone
		h, took := c.queue.Take(want)
		if took < want {
			c.releaseHold(h)
			return 0, admission.Hold{}, ErrQueueFull
		}
		return len(cmds), h, nil
	}
	h, took := c.queue.Take(want)
	if took == 0 {
		return 0, h, ErrQueueFull
	}
	for _, cmd := range cmds[took:] {
		cmd.SetErr(ErrQueueFull)
		c.events.refused(ErrQueueFull)
	}
	return int(took), h, nil
}

func isTransaction(cmds []redis.Cmder) bool {
	return len(cmds) > 0 && cmds[0].Name() == "multi"
}

// releaseHold gives back the queue slots of a pipeline.
func (c *Client) releaseHold(h admission.Hold) {
	c.queue.Release(h, c.cfg.queueLimit)
	c.signalDrained()
}

// signalDrained tells Close that no command is in flight any more.
func (c *Client) signalDrained() {
	if c.closing.Load() && c.queue.Len() == 0 {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
}

// refuse sets a refusal on cmd, reports it (the caller's own ended context is
// not one) and returns it.
func (c *Client) refuse(cmd redis.Cmder, err error) error {
	cmd.SetErr(err)
	if !outcome.IsContextErr(err) {
		c.events.refused(err)
	}
	return err
}

// refuseAll refuses every command of a pipeline.
func (c *Client) refuseAll(cmds []redis.Cmder, err error) error {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
	if !outcome.IsContextErr(err) {
		c.events.refused(err)
	}
	return err
}

// firstErr is what a pipeline returns: err, or the first command's error,
// like go-redis's pipelines (the commands a queue limit turned away included).
func firstErr(err error, cmds []redis.Cmder) error {
	if err != nil {
		return err
	}
	for _, cmd := range cmds {
		if e := cmd.Err(); e != nil && e != redis.Nil {
			return e
		}
	}
	return nil
}

// admit lets a command through to the node: at once while it is ready, or
// while its first connection is being made (the command then connects as
// go-redis's would, beside the supervisor's first attempt, and if its own
// dial fails it waits for that attempt's outcome: see afterFailure; if that
// attempt fails first, it gets the refusal then: see withinFirstAttempt); after it
// is ready again with the offline queue on; otherwise it refuses at once.
// It returns the state it let the command through in.
func (n *node) admit(ctx context.Context) (State, error) {
	if st := n.State(); st == StateReady || st == StateConnecting {
		return st, nil // the common case, without a lock
	}
	for {
		st, changed, _ := n.snapshot()
		switch st {
		case StateReady, StateConnecting:
			return st, nil
		case StateClosed:
			return st, n.c.closedErr()
		case StateReconnecting:
			if n.retired.Load() {
				// go-redis routed here again: the node is back in the slot
				// map. Try it; a failure restarts its supervision.
				return st, nil
			}
			if n.inSwitch() || n.resolving.Load() {
				// The master switched and is being found again: wait for
				// it rather than refuse.
				return StateReady, n.awaitAttempt(ctx)
			}
			if !n.c.cfg.offlineQueue {
				return st, n.refused()
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// awaitAttempt returns nil when the node is ready: at once, or after its
// supervisor's next attempt succeeded. With the offline queue it waits for
// ready however many attempts it takes, and while a switched master is being
// found again, as long as that takes (see switchUntil). Commands that may run
// again wait here instead of dialing, so that they never add connections to
// the supervisor's.
func (n *node) awaitAttempt(ctx context.Context) error {
	for {
		st, changed, _ := n.snapshot()
		switch {
		case st == StateReady:
			return nil
		case st == StateClosed:
			return n.c.closedErr()
		case n.retired.Load():
			// No attempt is coming: the slot map dropped the node.
			return n.refused()
		}
		var window <-chan time.Time
		t := n.switchTimer()
		if t != nil {
			window = t.C
		}
		select {
		case <-changed:
		case <-window:
		case <-ctx.Done():
			if t != nil {
				t.Stop()
			}
			return ctx.Err()
		}
		if t != nil {
			t.Stop()
		}
		if !n.c.cfg.offlineQueue && n.State() != StateReady && !n.inSwitch() {
			return n.refused()
		}
	}
}

// dial guards every new connection of the node's pools. While the node is not
// ready it dials nothing: it waits (bounded by the dial's context) for the
// outcome of the supervisor's next attempt, so that callers never stampede a
// dead server and no connection that failed reaches the pool. While ready it
// paces new dials through the node's gate. A dial that fails reports the node
// lost.
func (n *node) dial(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := n.awaitDialable(ctx); err != nil {
			return nil, err
		}
		if err := n.dials.Take(ctx, n.c.ctx, n.hasPooledConn); err != nil {
			return nil, err
		}
		gen := n.gen.Load()
		conn, err := next(ctx, network, n.dialAddr(addr))
		if err != nil {
			n.dials.Refund()
			// Not when the pool is closing, nor for a master replaced since.
			if !errors.Is(err, context.Canceled) && n.gen.Load() == gen {
				n.lost(err)
			}
			return nil, err
		}
		remote := conn.RemoteAddr().String()
		n.c.events.connect(remote)
		if n.c.failoverWrapped && remote != n.address() {
			// go-redis's failover client found another master.
			n.moveTo(remote)
			gen = n.gen.Load()
		}
		return n.wrapConn(conn, gen), nil
	}
}

// replace opens a connection in the background, for one that go-redis threw
// away while the server was answering in time (a drain saw the reply within
// the slow-call threshold, or the request never left because its caller's
// deadline had passed): its caller had given up, on a deadline the link could
// not meet at that moment. Only a node with a breaker times replies, so only
// it replaces (Options.DisableBreaker turns this off too). go-redis sets a new connection up under the deadline of the command
// that needs it, a few round trips, which such callers do not leave it: each
// connection lost to a late reply would then be lost for good, and a pool too
// small for its load keeps the deadlines failing (a metastable state that
// lasts after the latency that caused it is gone). The replacement is set up
// by a PING under the node's own deadline and enters the pool idle. It takes
// the dial the drain gave back, so the node's pacing holds, and no more run
// at once than the pool dials at once. A PING that finds an idle connection
// takes it instead: one that a caller's dial left in the pool, not yet set
// up (go-redis finishes a dial whose caller gave up), is then set up, and
// one ready costs a round trip.
func (n *node) replace() {
	rdb := n.client.Load()
	b := n.breaker.Load()
	if rdb == nil || b == nil || n.State() != StateReady {
		return
	}
	if n.replacing.Add(1) > int32(n.dials.Burst()) {
		n.replacing.Add(-1)
		return
	}
	// The setup's few replies and the PING's, each within the slow-call
	// threshold, after a dial.
	timeout := n.c.cfg.connectTimeout + 5*b.SlowCallThreshold()
	if !n.c.goBackground(func() {
		defer n.replacing.Add(-1)
		ctx, cancel := context.WithTimeout(n.c.ctx, timeout)
		defer cancel()
		_ = rdb.Ping(ctx).Err()
	}) {
		n.replacing.Add(-1)
	}
}

// hasPooledConn reports whether the node's pool has a connection.
func (n *node) hasPooledConn() bool {
	rdb := n.client.Load()
	return rdb != nil && rdb.PoolStats().TotalConns > 0
}

// awaitDialable returns nil when the node is ready or making its first
// connection, and otherwise waits for it to be ready at most as long as the
// dial's context allows (go-redis bounds it by DialTimeout). A dial that fails
// is counted by go-redis's pool, which after PoolSize of them refuses every
// dial until a probe of its own succeeds: a dial asked while the node is down
// waits for it to come back rather than fail.
func (n *node) awaitDialable(ctx context.Context) error {
	for {
		st, changed, _ := n.snapshot()
		switch st {
		case StateReady, StateConnecting:
			return nil
		case StateClosed:
			return n.c.closedErr()
		}
		if n.retired.Load() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return n.refused()
		}
	}
}

// errFirstAttemptFailed ends the wait of a command sent while the node's
// first connection was being made (see withinFirstAttempt).
var errFirstAttemptFailed = errors.New("redisguard: the first connection attempt failed")

// withinFirstAttempt bounds a command admitted in state admitted by the
// supervisor's first attempt, when it was admitted while the node made its
// first connection and the offline queue is off. The command dials beside
// that attempt; if the attempt fails before the command's dial starts, the
// dial waits for the node (awaitDialable) as long as go-redis lets it, and
// the command with it. The context returned ends when the attempt has
// failed, at once if it has already: see firstAttemptFailed. stop releases
// the watch. Otherwise it returns ctx as it is.
func (n *node) withinFirstAttempt(ctx context.Context, admitted State) (_ context.Context, stop func()) {
	if admitted != StateConnecting || n.c.cfg.offlineQueue {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	st, changed, _ := n.snapshot()
	if st != StateConnecting && st != StateReady {
		cancel(errFirstAttemptFailed)
		return ctx, func() {}
	}
	go func() {
		select {
		case <-changed:
			if st := n.State(); st != StateReady && st != StateConnecting {
				cancel(errFirstAttemptFailed)
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// firstAttemptFailed reports whether a command bounded by withinFirstAttempt
// ended, with err, because the first attempt failed while it still waited for
// its connection (go-redis reports its context's end before it writes): it
// was never sent, and gets the node's refusal, as one sent a moment later
// would.
func firstAttemptFailed(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(context.Cause(ctx), errFirstAttemptFailed)
}
