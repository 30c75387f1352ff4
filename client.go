package redisguard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/typednil"
	"github.com/redisguard/redisguard/internal/wire"
)

// Client is a go-redis client guarded against failing servers. Every go-redis
// command, pipeline and transaction issued through it passes, in this order:
//
//  1. closed: ErrClosed (or the error wrapping ErrMaxRetriesReached);
//  2. Options.QueueLimit: ErrQueueFull at once when the limit is reached (every
//     command of a pipeline counts);
//  3. the server it is routed to: while that server's first connection is
//     being made, the command waits for the outcome of that attempt; while the
//     server is reconnecting, ErrNotReady at once (naming the server), or with
//     Options.OfflineQueue a wait for it while holding a queue slot;
//  4. that server's circuit breaker (Options.Breaker): breaker.ErrOpen at once
//     when open;
//  5. the command runs; a failure that means the connection is lost moves the
//     server to reconnecting, where one supervisor goroutine reconnects it
//     with backoff while callers fail fast instead of dialing a dead server.
//     The outcome is counted by the server's breaker.
//
// Each server is supervised on its own (a node): a standalone client has one, a
// Sentinel client one whose address follows the master, a cluster client one
// per node go-redis routes to. On a cluster, a node that fails refuses only the
// commands routed to it; the client stays ready while any node serves.
//
// Safe retries: go-redis's own retries are off, because after a dropped
// connection they would send a write that may already have been applied a
// second time. The client instead resends a command only when it cannot be
// applied twice: any command that never left the process (its connection
// failed to open or was closed before the write), a read-only command whose
// connection broke, and any command the server refused without executing it
// (LOADING, READONLY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, NOREPLICAS, max
// clients; after a backoff). The first two do not dial on their own: they wait
// for the supervisor's next reconnect attempt and run again if it succeeded. A
// write that may have reached the server is never sent again: its caller gets
// the error. The budget is go-redis's MaxRetries (default 3; -1 turns the
// retries off). On a cluster, go-redis's own cluster retries run, kept from
// resending anything that may have been applied.
//
// Publish/subscribe (Subscribe and friends) is not admitted message by
// message: a PubSub keeps a connection of its own. Its dials go through the
// guard, though: when its connection breaks, go-redis redials and subscribes
// again, and while the server is down each redial waits for the server's
// supervisor instead of dialing a dead server, so a subscriber hears again
// at most the reconnect schedule's current delay later than a plain go-redis
// one (docs/RELIABILITY.md). Pub/Sub delivers at most once, through the guard
// or not: messages published while a subscriber is away are lost. For
// delivery that survives a disconnect, use Streams (XADD, XREADGROUP, XACK).
// Full-duplex auto-pipelining cannot be guarded and is refused (ErrFullDuplex).
type Client struct {
	redis.UniversalClient

	cfg    config
	retry  retryPolicy
	events *events
	epoch  time.Time // the clock of the node connections' measurements starts here

	solo            *node         // the node of a standalone or Sentinel client
	cluster         *clusterNodes // the nodes of a cluster client
	sentinels       *sentinelSet  // New's Sentinel client: the sentinels it asks
	failoverWrapped bool          // Wrap's Sentinel client: go-redis resolves the master
	drainer         *wire.Drainer
	secrets         []string // passwords from the options, kept out of errors

	state   atomic.Int32     // a State
	queue   *admission.Queue // commands admitted and not yet finished
	closing atomic.Bool      // Close began: signal drained when the queue empties
	drained chan struct{}

	mu        sync.Mutex    // guards changed, endErr, everReady; held for every state change
	changed   chan struct{} // closed and replaced at every state change
	endErr    error         // why the client closed: ErrClosed or the exhaustion error
	everReady bool

	ctx        context.Context
	cancel     context.CancelFunc // stops supervisors, attempts, drains and the keepalive PING
	background sync.WaitGroup     // supervisors, drains, the keepalive PING, sentinel watchers
	bgMu       sync.Mutex         // orders goBackground before Close's wait
	bgStopped  bool
	closeOnce  sync.Once
	closeErr   error
}

// New validates opts, builds the go-redis client they describe and returns at
// once; the first connection is made in the background. Commands sent before
// it is made wait for its outcome (bounded by their context and
// ConnectTimeout); WaitReady waits for it explicitly.
func New(opts Options) (*Client, error) {
	cfg, errs := opts.config()
	b, connErrs := opts.build(cfg)
	if errs = append(errs, connErrs...); len(errs) > 0 {
		b.close()
		return nil, errors.Join(errs...)
	}
	if err := instrument(opts.Instrument, b.rdb); err != nil {
		b.close()
		return nil, err
	}
	markGuarded(b.rdb) // built here: no other guard has it
	c := newClient(b.rdb, cfg, b.retry)
	c.secrets = b.secrets
	switch {
	case b.sentinel != nil:
		c.startSentinel(b.rdb.(*redis.Client), b.sentinel, b.gate)
	case b.cluster != nil:
		c.startCluster(b.rdb.(*redis.ClusterClient), b.cluster.Addrs)
	default:
		c.startSolo(b.rdb.(*redis.Client), b.gate)
	}
	c.startKeepalive()
	return c, nil
}

// Wrap guards a go-redis client the application already built: a *redis.Client
// (including a Sentinel failover client) or a *redis.ClusterClient. Options that
// describe the connection (URL, Redis, Cluster, PasswordFile, KeepAlive) must be
// empty; the others apply.
//
// Wrap takes the client over, and changes it: it adds the guard's hooks to it
// (and, on a cluster, to every node client go-redis creates), puts a Limiter in
// front of its own when it has a client-side cache (so that a cache miss is
// refused when a command would be), and turns its own command retries off (MaxRetries; on a cluster, the node clients' retries), as
// they would repeat writes; the client's MaxRetries becomes the budget of the
// safe retries of Client. Call Wrap before the client is used, keep using the
// returned Client (commands sent through the original go through the same
// hooks), and close the Client instead of the original. A client that a Client
// guards already (New's, or one wrapped before, until that Client is closed)
// gets ErrAlreadyGuarded.
func Wrap(rdb redis.UniversalClient, opts Options) (*Client, error) {
	cfg, errs := opts.config()
	for _, f := range []struct {
		field string
		set   bool
	}{
		{"URL", opts.URL != ""},
		{"Redis", opts.Redis != nil},
		{"Cluster", opts.Cluster != nil},
		{"PasswordFile", opts.PasswordFile != ""},
		{"KeepAlive", opts.KeepAlive != 0},
	} {
		if f.set {
			errs = append(errs, optionErrorf(f.field, "is set, but Wrap uses the connection settings of the client it wraps"))
		}
	}
	if typednil.Is(rdb) {
		errs = append(errs, fmt.Errorf("redisguard: Wrap: the client is nil"))
	} else if _, ok := rdb.(*Client); ok {
		errs = append(errs, fmt.Errorf("%w: Wrap was given a *redisguard.Client", ErrAlreadyGuarded))
	} else if err := checkFullDuplexConfig(rdb); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	switch rdb.(type) {
	case *redis.Client, *redis.ClusterClient:
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedClient, rdb)
	}
	if !markGuarded(rdb) {
		return nil, fmt.Errorf("%w: Wrap was given a go-redis client that a Client guards", ErrAlreadyGuarded)
	}
	if err := instrument(opts.Instrument, rdb); err != nil {
		unmarkGuarded(rdb)
		return nil, err
	}
	retry, err := takeOverRetries(rdb)
	if err != nil {
		unmarkGuarded(rdb)
		return nil, err
	}
	c := newClient(rdb, cfg, retry)
	c.secrets = clientSecrets(rdb)
	switch r := rdb.(type) {
	case *redis.ClusterClient:
		c.startCluster(r, r.Options().Addrs)
	case *redis.Client:
		c.failoverWrapped = isFailoverClient(r)
		c.startSolo(r, nil)
	}
	c.startKeepalive()
	return c, nil
}

func newClient(inner redis.UniversalClient, cfg config, retry retryPolicy) *Client {
	if cfg.limits == (wire.Limits{}) {
		cfg.limits, _ = (&Options{}).replyLimits() // a config made by hand
	}
	c := &Client{
		UniversalClient: inner,
		cfg:             cfg,
		retry:           retry,
		events:          cfg.events,
		queue:           admission.New(cfg.queueLimit),
		drained:         make(chan struct{}, 1),
		changed:         make(chan struct{}),
	}
	c.epoch = time.Now()
	c.state.Store(int32(StateConnecting))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.drainer = wire.NewDrainer(c.ctx, c.goBackground, c.epoch, c.clock)
	return c
}

// startKeepalive starts the keepalive PINGs, once the nodes are in place.
func (c *Client) startKeepalive() {
	if c.cfg.pingInterval > 0 {
		c.goBackground(c.keepalive)
	}
}

// startSolo supervises the one server of a standalone client, or the master a
// Sentinel failover client built by the application resolves. gate is the
// networkGate New installed in rdb's options, if any (see guardCache).
func (c *Client) startSolo(rdb *redis.Client, gate *networkGate) {
	opt := rdb.Options()
	n := newNode(c, opt.Addr, dialProber{opt: opt, addr: opt.Addr}, judgeLimit(opt.ReadTimeout), opt.PoolSize)
	n.master = c.failoverWrapped
	n.client.Store(rdb)
	n.guardCache(opt, gate)
	c.solo = n
	rdb.AddHook(soloHook{n})
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	c.goBackground(func() { n.supervise(nil) })
}

// judgeLimit is how long go-redis may wait for a reply that the breaker
// judges, from its ReadTimeout as go-redis's options hold it once the client
// is built: the timeout; a generous bound when reads have none (0); zero, no
// reply judged slow, when go-redis sets no read deadline at all (-1 on a
// client, -2 on a cluster's options).
func judgeLimit(readTimeout time.Duration) time.Duration {
	switch {
	case readTimeout < 0:
		return 0
	case readTimeout == 0:
		return 30 * time.Second
	}
	return readTimeout
}

// QueueLen returns the number of commands in flight plus those waiting for a
// connection (reads answered from go-redis's client-side cache leave it
// alone: see Options.QueueLimit). It never exceeds Options.QueueLimit.
func (c *Client) QueueLen() int { return int(c.queue.Len()) }

// AddHooks adds lifecycle listeners, e.g. for metrics, after construction.
func (c *Client) AddHooks(h Hooks) { c.events.add(h) }

// Close stops the client gracefully: new commands get ErrClosed, commands waiting
// for a connection get ErrClosed, commands in flight finish (for at most
// Options.CloseTimeout), the supervisors stop, the go-redis client is closed and
// Hooks.OnEnd(nil) fires, unless OnEnd already reported that the reconnect
// strategy gave up. Close returns the go-redis client's Close error; calling it
// again does nothing and returns the same.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.mu.Lock()
		ended := c.State() == StateClosed
		if !ended {
			c.endErr = ErrClosed
		}
		c.setStateLocked(StateClosed)
		c.mu.Unlock()

		c.closeNodes()
		c.cancel()
		c.drainer.Stop()
		c.sentinels.close()
		c.bgMu.Lock()
		c.bgStopped = true
		c.bgMu.Unlock()
		c.background.Wait()
		c.awaitDrained()
		c.closeErr = c.UniversalClient.Close()
		unmarkGuarded(c.UniversalClient)
		if !ended {
			c.events.end(nil)
		}
	})
	return c.closeErr
}

// closeNodes closes every node, waking the commands that wait for one.
func (c *Client) closeNodes() {
	if c.solo != nil {
		c.solo.close()
		return
	}
	for _, n := range c.cluster.list() {
		n.close()
	}
}

// awaitDrained waits until no command is in flight, or CloseTimeout.
func (c *Client) awaitDrained() {
	timer := time.NewTimer(c.cfg.closeTimeout)
	defer timer.Stop()
	for c.queue.Len() > 0 {
		select {
		case <-c.drained:
		case <-timer.C:
			c.cfg.logger.Warn("redis close: commands still in flight after the close timeout",
				"in_flight", c.queue.Len(), "timeout", c.cfg.closeTimeout)
			return
		}
	}
}

// goBackground runs fn on a goroutine Close waits for, unless Close is
// already waiting.
func (c *Client) goBackground(fn func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.bgStopped {
		return false
	}
	c.background.Go(fn)
	return true
}

// clock reads the monotonic clock of the node connections' measurements; it
// is never 0, which they take for "no measurement".
func (c *Client) clock() int64 { return int64(time.Since(c.epoch)) + 1 }
