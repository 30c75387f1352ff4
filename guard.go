package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// guardHook is the go-redis hook through which every command of the client passes.
type guardHook struct{ c *Client }

func (h guardHook) DialHook(next redis.DialHook) redis.DialHook {
	return h.c.dial(next)
}

func (h guardHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	c := h.c
	return func(ctx context.Context, cmd redis.Cmder) error {
		if IsConnectionSetup(cmd) {
			return c.handshakeFailed(ctx, next(ctx, cmd))
		}
		if err := c.admit(ctx); err != nil {
			c.refused(err)
			cmd.SetErr(err)
			return err
		}
		done, err := c.allow(ctx)
		if err != nil {
			c.release()
			c.refused(err)
			cmd.SetErr(err)
			return err
		}
		err = next(ctx, cmd)
		if err != nil {
			err = c.afterFailure(ctx, unwrapNotRetried(err), readOnly(cmd), func() error {
				cmd.SetErr(nil)
				return unwrapNotRetried(next(ctx, cmd))
			})
		}
		c.count(ctx, done, err)
		c.release()
		return err
	}
}

func (h guardHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	c := h.c
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if allConnectionSetup(cmds) {
			return c.handshakeFailed(ctx, next(ctx, cmds))
		}
		err := c.admit(ctx)
		var done func(error)
		if err == nil {
			if done, err = c.allow(ctx); err != nil {
				c.release()
			}
		}
		if err != nil {
			c.refused(err)
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		err = next(ctx, cmds)
		if err != nil {
			err = c.afterFailure(ctx, err, allReadOnly(cmds), func() error {
				for _, cmd := range cmds {
					cmd.SetErr(nil)
				}
				return next(ctx, cmds)
			})
		}
		c.count(ctx, done, err)
		c.release()
		return err
	}
}

// handshakeFailed marks a network failure of a handshake command as
// notSentError, and reports the connection lost: a new connection that breaks or
// times out while it is set up shows the server unreachable or too slow. A reply
// from the server (an unknown CLIENT subcommand, say) is left alone: go-redis
// reads those to choose how to set the connection up. The mark is wrapped once
// more because go-redis unwraps one level of a handshake error before handing it
// to the command.
func (c *Client) handshakeFailed(ctx context.Context, err error) error {
	switch classifyErr(err) {
	case outcomeNotSent: // a failed dial, delivered by failedConn
		return fmt.Errorf("new connection: %w", err)
	case outcomeDropped, outcomeTimeout:
		err = &notSentError{err}
		if !callerGaveUp(ctx) {
			c.connectionLost(err)
		}
		return fmt.Errorf("new connection: %w", err)
	}
	return err
}

// admit applies steps 1 to 3 of the admission order. On success the caller holds a
// queue slot and must release it.
func (c *Client) admit(ctx context.Context) error {
	st := c.State()
	if st == StateClosed {
		return c.closedErr()
	}
	if c.inflight.Add(1) > c.cfg.queueLimit {
		c.release()
		return ErrQueueFull
	}
	if st != StateReady {
		if err := c.awaitReady(ctx); err != nil {
			c.release()
			return err
		}
	}
	return nil
}

// refused reports a refusal by the guard; the caller's own ended context is not
// one.
func (c *Client) refused(err error) {
	if !isContextErr(err) {
		c.events.refused(err)
	}
}

// release gives back a queue slot.
func (c *Client) release() {
	if c.inflight.Add(-1) == 0 && c.closing.Load() {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
}

// awaitReady returns nil once the client is ready: at once with ErrNotReady when
// the offline queue is off, otherwise after waiting.
func (c *Client) awaitReady(ctx context.Context) error {
	for {
		st, changed, endErr := c.snapshot()
		switch {
		case st == StateReady:
			return nil
		case st == StateClosed:
			return endErr
		case !c.cfg.offlineQueue:
			return ErrNotReady
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// afterFailure decides, for a command that failed with err, whether the
// connection is lost and whether the command runs again (through rerun), and
// returns the error its caller gets.
//
// A command that may safely run again (it never left, or it is read-only and its
// connection broke) does not dial on its own: it waits for the supervisor's next
// reconnect attempt and runs again if that attempt succeeded (with the offline
// queue, until the client is ready). Callers thus never add connection attempts
// to the supervisor's.
func (c *Client) afterFailure(ctx context.Context, err error, readOnly bool, rerun func() error) error {
	for attempt := 1; ; attempt++ {
		retry := attempt <= c.retry.max
		switch classify(ctx, err) {
		case outcomeOK:
			return err
		case outcomeBusy:
			if !retry || !c.retry.busy || sleep(ctx, c.retry.backoff(attempt)) != nil {
				return err
			}
		case outcomeNotSent:
			if !retry || c.awaitReconnect(ctx) != nil {
				return err
			}
		case outcomeDropped:
			c.connectionLost(err)
			if !retry || !readOnly || c.awaitReconnect(ctx) != nil {
				return err
			}
		case outcomeTimeout:
			c.connectionLost(err)
			return err
		}
		if err = rerun(); err == nil {
			return nil
		}
	}
}

// awaitReconnect returns nil when the client is ready: at once, or after the
// supervisor's next reconnect attempt succeeded. With the offline queue it waits
// for ready however many attempts it takes.
func (c *Client) awaitReconnect(ctx context.Context) error {
	if c.cfg.offlineQueue {
		return c.awaitReady(ctx)
	}
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
		return ctx.Err()
	}
	if c.State() != StateReady {
		return ErrNotReady
	}
	return nil
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

// dial guards every new connection of the go-redis pools. While the client is not
// ready it dials nothing, so that callers never stampede a dead server. A failed
// dial reports the connection lost.
//
// Both cases return a connection that fails on first use instead of an error:
// go-redis counts dial errors over the pool's whole life and, after PoolSize of
// them, stops dialing and starts a goroutine of its own that dials once a second;
// the supervisor already does that job, with the configured backoff.
func (c *Client) dial(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch c.State() {
		case StateConnecting, StateReconnecting:
			return failedConn{ErrNotReady}, nil
		}
		conn, err := next(ctx, network, addr)
		if err != nil {
			err = &notSentError{err}
			if !errors.Is(err, context.Canceled) {
				c.connectionLost(err)
			}
			return failedConn{err}, nil
		}
		c.events.connect(conn.RemoteAddr().String())
		return conn, nil
	}
}
