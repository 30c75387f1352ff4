package redisguard

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// supervise is the one goroutine that connects and reconnects: callers never dial
// a server the client considers down, so however many goroutines call, the server
// sees the attempts of the backoff schedule and no more. It also delivers the
// lifecycle events, in order.
func (c *Client) supervise() {
	cause := c.attempt()
	if cause != nil && c.ctx.Err() == nil {
		c.events.error(cause)
	}
	attempt := 0
	for {
		if cause == nil {
			attempt = 0
			if !c.becomeReady() {
				return
			}
			var ok bool
			if cause, ok = c.whileReady(); !ok {
				return
			}
			c.events.error(cause)
		} else if c.ctx.Err() != nil {
			return
		}

		attempt++
		delay, err := c.cfg.reconnect.NextDelay(attempt, cause)
		if err != nil {
			c.giveUp(err, attempt-1, cause)
			return
		}
		delay = max(delay, 0)
		if !c.becomeReconnecting() {
			return
		}
		c.events.reconnecting(attempt, delay)
		if sleep(c.ctx, delay) != nil {
			return
		}
		if cause = c.attempt(); cause != nil && c.ctx.Err() == nil {
			c.attemptFailed()
			c.events.error(cause)
		}
	}
}

// attempt makes one connection attempt within the connect timeout.
func (c *Client) attempt() error {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.connectTimeout)
	defer cancel()
	return c.probe.probe(ctx, c.events.connect)
}

// whileReady waits for the connection to be lost, sending the keepalive PINGs
// meanwhile. It returns false when the client is closing.
func (c *Client) whileReady() (cause error, ok bool) {
	var tick <-chan time.Time
	if c.cfg.pingInterval > 0 {
		t := time.NewTicker(c.cfg.pingInterval)
		defer t.Stop()
		tick = t.C
	}
	pinged := make(chan struct{}, 1)
	pinging := false
	for {
		select {
		case cause := <-c.lost:
			return cause, true
		case <-c.ctx.Done():
			return nil, false
		case <-pinged:
			pinging = false
		case <-tick:
			// The PING runs beside the supervisor: when it fails it waits, as
			// any read would, for the supervisor's next attempt.
			if !pinging {
				pinging = true
				c.background.Go(func() {
					c.keepalive()
					pinged <- struct{}{}
				})
			}
		}
	}
}

// keepalive sends one PING through the guarded client. A failure that means the
// connection is lost is reported by the guard; a PING that outlives the connect
// timeout is reported here, since the guard takes an ended context for the
// caller's own doing.
func (c *Client) keepalive() {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.connectTimeout)
	defer cancel()
	err := c.UniversalClient.Ping(ctx).Err()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		c.connectionLost(fmt.Errorf("keepalive PING: %w", err))
	}
}

func (c *Client) becomeReady() bool {
	c.mu.Lock()
	if c.State() == StateClosed {
		c.mu.Unlock()
		return false
	}
	c.setStateLocked(StateReady)
	c.mu.Unlock()
	c.events.ready()
	return true
}

// attemptFailed wakes the commands waiting for the outcome of an attempt.
func (c *Client) attemptFailed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notifyLocked()
}

func (c *Client) becomeReconnecting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.State() == StateClosed {
		return false
	}
	c.setStateLocked(StateReconnecting)
	return true
}

// giveUp closes the client for good after the strategy refused another attempt.
func (c *Client) giveUp(strategyErr error, attempts int, cause error) {
	var err error
	if errors.Is(strategyErr, ErrMaxRetriesReached) {
		err = fmt.Errorf("%w after %d attempts: %w", strategyErr, attempts, cause)
	} else {
		err = fmt.Errorf("%w: the reconnect strategy gave up after %d attempts (%w): %w",
			ErrMaxRetriesReached, attempts, strategyErr, cause)
	}
	c.mu.Lock()
	if c.State() == StateClosed {
		c.mu.Unlock()
		return
	}
	c.endErr = err
	c.setStateLocked(StateClosed)
	c.mu.Unlock()
	c.events.error(err)
	c.events.end(err)
}
