package redisguard

import (
	"context"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/outcome"
	"time"
)

// admit applies admission steps 1 and 2 for one command. On success the
// caller holds a queue slot, from the stripe returned, and must release it.
func (c *Client) admit() (stripe int, err error) {
	if c.State() == StateClosed {
		return 0, c.closedErr()
	}
	stripe, ok := c.queue.TakeOne()
	if !ok {
		return 0, ErrQueueFull
	}
	return stripe, nil
}

// release gives back the queue slot of one command.
func (c *Client) release(stripe int) {
	c.queue.ReleaseOne(stripe)
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
// dial fails it waits for that attempt's outcome: see afterFailure); after it
// is ready again with the offline queue on; otherwise it refuses at once.
func (n *node) admit(ctx context.Context) error {
	if st := n.State(); st == StateReady || st == StateConnecting {
		return nil // the common case, without a lock
	}
	for {
		st, changed, _ := n.snapshot()
		switch st {
		case StateReady, StateConnecting:
			return nil
		case StateClosed:
			return n.c.closedErr()
		case StateReconnecting:
			if n.retired.Load() {
				// go-redis routed here again: the node is back in the slot
				// map. Try it; a failure restarts its supervision.
				return nil
			}
			if n.inSwitch() || n.resolving.Load() {
				// The master switched and is being found again: wait for
				// it rather than refuse.
				return n.awaitAttempt(ctx)
			}
			if !n.c.cfg.offlineQueue {
				return n.refused()
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
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
