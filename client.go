package redisguard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
)

// Client is a go-redis client guarded against a failing server. Every go-redis
// command, pipeline and transaction issued through it passes, in this order:
//
//  1. closed: ErrClosed (or the error wrapping ErrMaxRetriesReached);
//  2. Options.QueueLimit: ErrQueueFull at once when the limit is reached;
//  3. not ready: ErrNotReady at once, or with Options.OfflineQueue a wait for
//     ready while holding a queue slot;
//  4. the circuit breaker (Options.Breaker): breaker.ErrOpen at once when open;
//  5. the command runs; a failure that means the connection is lost moves the
//     client to StateReconnecting, where one supervisor goroutine reconnects
//     with backoff while callers fail fast instead of dialing a dead server.
//     The outcome is counted by the breaker.
//
// Safe retries: go-redis's own retries are off, because after a dropped
// connection they would send a write that may already have been applied a
// second time. The client instead resends a command only when it cannot be
// applied twice: any command that never left the process (its connection
// failed to open), a read-only command whose connection broke, and any command
// the server refused without executing it (LOADING, READONLY, TRYAGAIN,
// CLUSTERDOWN, MASTERDOWN, NOREPLICAS, max clients; after a backoff). The first
// two do not dial on their own: they wait for the supervisor's next reconnect
// attempt and run again if it succeeded. A write that may have reached the
// server is never sent again: its caller gets the error. The budget is
// go-redis's MaxRetries (default 3; -1 turns the retries off).
//
// Publish/subscribe connections (Subscribe and friends) bypass the guard.
type Client struct {
	redis.UniversalClient

	cfg     config
	retry   retryPolicy
	probe   prober
	events  *events
	breaker *breaker.Breaker // nil when disabled

	state    atomic.Int32 // a State
	inflight atomic.Int64 // commands admitted and not yet finished
	closing  atomic.Bool  // Close began: signal drained when inflight reaches 0
	drained  chan struct{}

	mu      sync.Mutex    // guards changed and endErr; held for every state change
	changed chan struct{} // closed and replaced at every state change and failed attempt
	endErr  error         // why the client closed: ErrClosed or the exhaustion error

	lost       chan error // the cause of a ready → reconnecting change, for the supervisor
	ctx        context.Context
	cancel     context.CancelFunc // stops the supervisor, its attempt and the keepalive PING
	background sync.WaitGroup     // the supervisor and the keepalive PING
	closeOnce  sync.Once
	closeErr   error
}

// New validates opts, builds the go-redis client they describe and returns at once;
// the first connection is made in the background. Use WaitReady to wait for it, or
// Options.OfflineQueue to let early commands wait.
func New(opts Options) (*Client, error) {
	cfg, errs := opts.config()
	inner, retry, connErrs := opts.newUniversalClient(cfg)
	if errs = append(errs, connErrs...); len(errs) > 0 {
		if inner != nil {
			_ = inner.Close()
		}
		return nil, errors.Join(errs...)
	}
	c, err := newClient(inner, cfg, retry)
	if err != nil {
		_ = inner.Close()
		return nil, err
	}
	return c, nil
}

// Wrap guards a go-redis client the application already built (a *redis.Client,
// including a Sentinel failover client, or a *redis.ClusterClient). Options that
// describe the connection (URL, Redis, PasswordFile, KeepAlive) must be empty; the
// others apply.
//
// Wrap takes the client over: call it before the client is used, and close the
// Client instead of it. It turns the client's own command retries off (they
// would repeat writes) and applies the safe retries of Client with the client's
// MaxRetries as their budget.
func Wrap(rdb redis.UniversalClient, opts Options) (*Client, error) {
	cfg, errs := opts.config()
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"URL", opts.URL != ""},
		{"Redis", opts.Redis != nil},
		{"PasswordFile", opts.PasswordFile != ""},
		{"KeepAlive", opts.KeepAlive != 0},
	} {
		if f.set {
			errs = append(errs, optionErrorf(f.field, "is set, but Wrap uses the connection settings of the client it wraps"))
		}
	}
	if rdb == nil {
		errs = append(errs, fmt.Errorf("redisguard: Wrap: the client is nil"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	retry, err := takeOverRetries(rdb)
	if err != nil {
		return nil, err
	}
	return newClient(rdb, cfg, retry)
}

func newClient(inner redis.UniversalClient, cfg config, retry retryPolicy) (*Client, error) {
	c := &Client{
		UniversalClient: inner,
		cfg:             cfg,
		retry:           retry,
		events:          cfg.events,
		breaker:         cfg.breaker,
		drained:         make(chan struct{}, 1),
		changed:         make(chan struct{}),
		lost:            make(chan error, 1),
	}
	probe, err := c.newProber(inner)
	if err != nil {
		return nil, err
	}
	c.probe = probe
	c.state.Store(int32(StateConnecting))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	inner.AddHook(guardHook{c})
	if cc, ok := inner.(*redis.ClusterClient); ok {
		c.guardNodes(cc)
	}
	c.background.Go(c.supervise)
	return c, nil
}

// State returns the current lifecycle state.
func (c *Client) State() State { return State(c.state.Load()) }

// QueueLen returns the number of commands in flight plus those waiting for the
// connection. It never exceeds Options.QueueLimit.
func (c *Client) QueueLen() int { return int(c.inflight.Load()) }

// AddHooks adds lifecycle listeners, e.g. for metrics, after construction.
func (c *Client) AddHooks(h Hooks) { c.events.add(h) }

// Breaker returns the circuit breaker commands pass, or nil when
// Options.DisableBreaker turned it off.
func (c *Client) Breaker() *breaker.Breaker { return c.breaker }

// WaitReady blocks until the client is ready (nil), closed (ErrClosed or the error
// wrapping ErrMaxRetriesReached) or ctx ends (ctx.Err()).
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
			return ctx.Err()
		}
	}
}

// Close stops the client gracefully: new commands get ErrClosed, commands waiting
// for the connection get ErrClosed, commands in flight finish (for at most
// Options.CloseTimeout), the supervisor stops, the go-redis client is closed and
// Hooks.OnEnd(nil) fires, unless OnEnd already reported that the reconnect
// strategy gave up. Close returns the go-redis client's Close error; calling it
// again does nothing and returns the same.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.mu.Lock()
		ended := c.State() == StateClosed
		c.endErr = ErrClosed
		c.setStateLocked(StateClosed)
		c.mu.Unlock()

		c.cancel()
		c.background.Wait()
		c.awaitDrained()
		c.closeErr = c.UniversalClient.Close()
		if !ended {
			c.events.end(nil)
		}
	})
	return c.closeErr
}

// awaitDrained waits until no command is in flight, or CloseTimeout.
func (c *Client) awaitDrained() {
	timer := time.NewTimer(c.cfg.closeTimeout)
	defer timer.Stop()
	for c.inflight.Load() > 0 {
		select {
		case <-c.drained:
		case <-timer.C:
			c.cfg.logger.Warn("redis close: commands still in flight after the close timeout",
				"in_flight", c.inflight.Load(), "timeout", c.cfg.closeTimeout)
			return
		}
	}
}

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
	c.notifyLocked()
}

// notifyLocked wakes everyone waiting on changed. c.mu must be held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// connectionLost moves a ready client to reconnecting and hands the cause to the
// supervisor. In any other state the supervisor is already at work, or done.
func (c *Client) connectionLost(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.State() != StateReady {
		return
	}
	c.setStateLocked(StateReconnecting)
	select {
	case c.lost <- cause:
	default:
	}
}

// closedErr is what a command gets once the client is closed.
func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endErr
}
