package redisguard

import "github.com/redis/go-redis/v9"

// admit applies admission steps 1 and 2 for slots commands. On success the
// caller holds the slots and must release them.
func (c *Client) admit(slots int64) error {
	if c.State() == StateClosed {
		return c.closedErr()
	}
	if c.inflight.Add(slots) > c.cfg.queueLimit {
		c.release(slots)
		return ErrQueueFull
	}
	return nil
}

// admitBatch admits the commands of a pipeline, each holding a queue slot: a
// transaction all or none, a pipeline (an auto-pipelined batch among them) as
// many of its first commands as the limit lets through, the others refused
// with ErrQueueFull. It returns how many were admitted and the slots held.
func (c *Client) admitBatch(cmds []redis.Cmder) (admitted int, slots int64, err error) {
	if c.State() == StateClosed {
		return 0, 0, c.closedErr()
	}
	n := int64(len(cmds))
	if isTransaction(cmds) {
		slots = min(n, c.cfg.queueLimit) // a transaction larger than the limit runs alone
		if err := c.admit(slots); err != nil {
			return 0, 0, err
		}
		return len(cmds), slots, nil
	}
	total := c.inflight.Add(n)
	if over := total - c.cfg.queueLimit; over > 0 {
		c.release(min(over, n))
		slots = n - min(over, n)
		if slots == 0 {
			return 0, 0, ErrQueueFull
		}
		for _, cmd := range cmds[slots:] {
			cmd.SetErr(ErrQueueFull)
			c.events.refused(ErrQueueFull)
		}
		return int(slots), slots, nil
	}
	return len(cmds), n, nil
}

func isTransaction(cmds []redis.Cmder) bool {
	return len(cmds) > 0 && cmds[0].Name() == "multi"
}

// release gives back queue slots.
func (c *Client) release(slots int64) {
	if c.inflight.Add(-slots) == 0 && c.closing.Load() {
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
	if !isContextErr(err) {
		c.events.refused(err)
	}
	return err
}

// refuseAll refuses every command of a pipeline.
func (c *Client) refuseAll(cmds []redis.Cmder, err error) error {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
	if !isContextErr(err) {
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
