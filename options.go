package redisguard

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/wire"
)

// Defaults of the zero Options: node-redis's production settings, so a service
// moving from Node.js behaves the same (each node-redis name beside its value).
const (
	DefaultConnectTimeout = 5 * time.Second  // socket.connectTimeout: 5000
	DefaultKeepAlive      = 30 * time.Second // socket.keepAlive: 30000
	DefaultQueueLimit     = 1000             // commandsQueueMaxLength: 1000
	DefaultCloseTimeout   = 5 * time.Second
)

// Options configures a Client. The zero Options connects to localhost:6379 with every
// default. Each field is validated by New and Wrap; a bad value gives an *OptionError
// naming the field.
type Options struct {
	// URL is a redis://, rediss:// (TLS) or unix:// URL in go-redis's ParseURL form,
	// e.g. redis://user:secret@host:6379/0?dial_timeout=3s. For Sentinel or Cluster
	// use Redis instead. URL and Redis are mutually exclusive. A password holding
	// '#', '/', '?', '@' or '%' must be percent-encoded (url.PathEscape), or the
	// URL built with url.UserPassword: New rejects a URL whose user info would be
	// cut short, a URL with no host, and a port outside 1…65535, with an error
	// that shows no part of the user info.
	URL string

	// Redis holds go-redis options: Addrs with one address for a standalone server,
	// MasterName for Sentinel, several Addrs (or IsClusterMode) for Cluster. It is
	// copied, never modified. Its MaxRetries, MinRetryBackoff and MaxRetryBackoff
	// set the budget of the client's safe retries (see Client); go-redis's own
	// retries are turned off because they would repeat writes. ContextTimeoutEnabled
	// is turned on: a command's context deadline bounds its wait for the server.
	// DialerRetries defaults to 1: the supervisor, not the pool, retries dials.
	// Negative values that go-redis would panic on (PoolSize) or silently misread
	// (pool sizes, PoolTimeout, ReadTimeout and WriteTimeout below -2, DB, buffer
	// sizes, MaxRedirects below -1, …) are an *OptionError, here and in the URL.
	//
	// With MasterName, the client finds the master itself (see Client): it asks
	// every sentinel in Addrs at once and follows +switch-master; RouteByLatency,
	// RouteRandomly and IsClusterMode are not supported with it.
	Redis *redis.UniversalOptions

	// Cluster holds go-redis cluster options, for the settings UniversalOptions
	// lacks (ClusterStateReloadInterval, ClusterSlots, ShardPicker, …). It is
	// copied, never modified, adjusted as Redis is (and MaxRedirects is the
	// budget of the cluster's own retries, made safe per node). URL, Redis and
	// Cluster are mutually exclusive. With Wrap, build the cluster client with
	// these options yourself.
	Cluster *redis.ClusterOptions

	// PasswordFile names a file holding the password, as Kubernetes mounts a
	// Secret. It is read when New runs (a missing or empty file is an error) and
	// again for every new connection, so a rotated secret is picked up without a
	// restart. Trailing newlines are ignored. It excludes a password in URL or Redis.
	PasswordFile string

	// Reconnect decides the waits between reconnect attempts and when to give up.
	// Nil means DefaultBackoff(): 100 ms doubling to 3 s, ±10 % jitter, 10 attempts.
	Reconnect ReconnectStrategy

	// ConnectTimeout bounds every new connection: the TCP (and TLS) dial, and the
	// supervisor's whole reconnect attempt (dial, handshake and PING). Zero means
	// 5 s. It is also go-redis's DialTimeout unless Redis.DialTimeout is set.
	ConnectTimeout time.Duration

	// KeepAlive is the idle time before the first TCP keep-alive probe on each
	// connection; unanswered probes then close a dead connection without waiting
	// for a command. Zero means 30 s; a negative value turns keep-alive off. It
	// applies to the library's dialer, not to a Dialer given in Redis.
	KeepAlive time.Duration

	// PingInterval, when positive, sends a PING every interval while ready, so a
	// dead server is noticed even when the application is idle. Zero turns it off.
	PingInterval time.Duration

	// QueueLimit bounds the commands in flight plus the commands waiting for the
	// connection, every command of a pipeline or transaction counting (a
	// transaction larger than the limit runs alone; a pipeline runs the
	// commands that fit, and the others get ErrQueueFull). One more is refused
	// at once with ErrQueueFull. Zero means 1000. On a standalone or Sentinel
	// client with go-redis's client-side cache, a read the cache answers takes
	// no slot: it waits for nothing; a command counts while it waits in the
	// client and while go-redis uses the network for it.
	QueueLimit int

	// OfflineQueue makes commands issued while the client is not ready wait for it
	// (until their context ends or the client closes) instead of failing at once
	// with ErrNotReady. Off by default: fail fast.
	OfflineQueue bool

	// CloseTimeout bounds how long Close waits for the commands in flight to
	// finish. Zero means 5 s.
	CloseTimeout time.Duration

	// DialRate bounds, per server, the new connections per second beyond the
	// pool's size while connections are being thrown away with a reply pending
	// (timeouts, resets): a slow server never sees one new connection per
	// command. A connection closed cleanly gives its dial back, and one
	// thrown away while the server answered in time is replaced in the
	// background with the dial it gave back (unless DisableBreaker: the
	// breaker is what times the replies). Zero means DefaultDialRate (5).
	DialRate int

	// Breaker configures the circuit breaker of each server, which every command
	// passes after admission. The zero value has package breaker's defaults: open
	// after 5 failures in a row, or when half of at least 20 calls in 10 s failed;
	// stay open 100 ms, doubling up to 5 s while the probes fail, or less when a
	// reply shows the server answers; then let 3 probes through. While open, commands fail at once
	// with breaker.ErrOpen.
	//
	// The breaker judges the server, never the caller: failures the supervisor
	// handles (a refused or broken connection), commands that never left
	// (waiting for a connection, a dial) and commands whose caller gave up before
	// the write are not counted; replies such as LOADING or BUSY are; time counts
	// only as the server's own, measured from the write (to an eighth of the
	// threshold, in the server's favour), past Breaker.SlowCallThreshold (zero
	// means the smaller of breaker.DefaultSlowCallThreshold and the client's
	// ReadTimeout, but at least 10 ms). A command
	// whose caller's deadline passed after the write counts only if the server
	// did not answer within that threshold: its connection is drained in the
	// background to find out. On a cluster, CLUSTERDOWN, TRYAGAIN, MOVED and ASK
	// replies are about the cluster, not the node, and are not counted. Its
	// OnStateChange is called as well as Hooks.OnBreakerStateChange.
	Breaker breaker.Settings

	// DisableBreaker turns the circuit breaker off: Client.Breaker reports false.
	DisableBreaker bool

	// Hooks receive lifecycle events. More can be added later with AddHooks.
	Hooks Hooks

	// Instrument, when set, is called once with the go-redis client before
	// the guard adds its hooks: pass redisotel.InstrumentTracing or
	// InstrumentMetrics, or any function adding go-redis hooks. go-redis runs
	// hooks in the order they were added, so these run outside the guard and
	// see every command, those it refuses (ErrNotReady, breaker.ErrOpen,
	// ErrQueueFull) included, with their error. A cluster client is passed
	// before its node clients exist, so that hooks added per node
	// (ClusterClient.OnNewNode, as redisotel does) run outside each node's
	// guard as well; a command refused before it is routed to a node (closed,
	// ErrQueueFull) passes only the cluster client's own hooks, which
	// redisotel leaves alone. With Wrap, instrumenting the client before
	// wrapping it does the same. An error fails New or Wrap.
	Instrument func(redis.UniversalClient) error

	// MaxReplyBulkBytes, MaxReplyElements, MaxReplyDepth and MaxReplyLineBytes
	// bound what one reply of a server may declare, on every connection of the
	// client (the supervisor's handshakes and the sentinels' included): a bulk
	// string's length (default DefaultMaxReplyBulkBytes, 512 MiB, Redis's own
	// proto-max-bulk-len), the elements of all the aggregates of one reply
	// together (default DefaultMaxReplyElements, 32 Mi: go-redis reserves 16
	// bytes for each as soon as it reads the header), the nesting of aggregates
	// (default DefaultMaxReplyDepth, 512) and the length of any line (default
	// DefaultMaxReplyLineBytes, 1 MiB). A reply over a limit fails its
	// connection before go-redis allocates for it, with an error for which
	// errors.Is(err, ErrReplyTooLarge) holds, naming the server and the limit:
	// a broken or hostile server, or a man in the middle, cannot make one reply
	// take the process down. Zero means the default.
	MaxReplyBulkBytes int64
	MaxReplyElements  int64
	MaxReplyDepth     int
	MaxReplyLineBytes int

	// Logger receives one record per lifecycle event. Nil means no logging.
	// go-redis's own records (a pool's failed dials, …) go to go-redis's
	// process-wide logger, which New leaves alone; send them to a *slog.Logger
	// with redis.SetLogger(NewGoRedisLogger(logger)) once in main.
	Logger *slog.Logger
}

// OptionError reports an invalid Options field. New and Wrap return every invalid
// field at once, joined; errors.As finds the first.
type OptionError struct {
	Field  string // the field's path in Options, e.g. "QueueLimit" or "Reconnect.Base"
	Reason string
}

func (e *OptionError) Error() string {
	return "redisguard: invalid Options." + e.Field + ": " + e.Reason
}

func optionErrorf(field, format string, args ...any) *OptionError {
	return &OptionError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// config is Options validated, with every default applied, and the parts of the
// client they describe: what the running client reads.
type config struct {
	reconnect      ReconnectStrategy
	connectTimeout time.Duration
	pingInterval   time.Duration
	closeTimeout   time.Duration
	queueLimit     int64
	offlineQueue   bool
	dialRate       float64
	logger         *slog.Logger
	events         *events
	breaker        *breaker.Settings // every node's breaker is built from it; nil when disabled
	limits         wire.Limits
}

// config validates the fields that do not describe the connection.
func (o *Options) config() (config, []error) {
	var errs []error
	c := config{
		reconnect:      o.Reconnect,
		connectTimeout: o.ConnectTimeout,
		pingInterval:   o.PingInterval,
		closeTimeout:   o.CloseTimeout,
		queueLimit:     int64(o.QueueLimit),
		offlineQueue:   o.OfflineQueue,
		dialRate:       float64(o.DialRate),
		logger:         o.Logger,
	}
	switch b := c.reconnect.(type) {
	case nil:
		c.reconnect = DefaultBackoff()
	case ExponentialBackoff:
		errs = append(errs, b.validate()...)
	case *ExponentialBackoff:
		if b == nil {
			errs = append(errs, optionErrorf("Reconnect", "is a nil *ExponentialBackoff"))
		} else {
			errs = append(errs, b.validate()...)
		}
	case ReconnectFunc:
		if b == nil {
			errs = append(errs, optionErrorf("Reconnect", "is a nil ReconnectFunc"))
		}
	}
	for _, d := range []struct {
		field string
		value *time.Duration
		def   time.Duration
	}{
		{"ConnectTimeout", &c.connectTimeout, DefaultConnectTimeout},
		{"CloseTimeout", &c.closeTimeout, DefaultCloseTimeout},
		{"PingInterval", &c.pingInterval, 0},
	} {
		switch {
		case *d.value < 0:
			errs = append(errs, optionErrorf(d.field, "is %v: it must not be negative", *d.value))
		case *d.value == 0:
			*d.value = d.def
		}
	}
	switch {
	case c.queueLimit < 0:
		errs = append(errs, optionErrorf("QueueLimit", "is %d: it must be positive (0 means %d)", o.QueueLimit, DefaultQueueLimit))
	case c.queueLimit == 0:
		c.queueLimit = DefaultQueueLimit
	}
	switch {
	case o.DialRate < 0:
		errs = append(errs, optionErrorf("DialRate", "is %d: it must be positive (0 means %d)", o.DialRate, DefaultDialRate))
	case o.DialRate == 0:
		c.dialRate = DefaultDialRate
	}
	var limitErrs []error
	c.limits, limitErrs = o.replyLimits()
	errs = append(errs, limitErrs...)
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.events = newEvents(o.Hooks, c.logger)
	if !o.DisableBreaker {
		s, err := breakerSettings(o.Breaker)
		errs = append(errs, err...)
		c.breaker = s
	}
	return c, errs
}

// ErrReplyTooLarge is the error of a connection whose server sent a reply
// declaring more than the Options.MaxReply… limits allow: a bulk string, an
// aggregate, a nesting or a line too large. The connection is failed before
// go-redis allocates for the reply; the error wrapping it names the server and
// the limit.
var ErrReplyTooLarge = wire.ErrReplyTooLarge

// Defaults of the reply limits, none of which a legitimate reply reaches in
// practice.
const (
	// DefaultMaxReplyBulkBytes is Redis's own proto-max-bulk-len.
	DefaultMaxReplyBulkBytes = 512 << 20
	// DefaultMaxReplyElements lets the aggregates of one reply reserve no more
	// than 512 MiB between them (go-redis holds each element in a 16-byte
	// interface).
	DefaultMaxReplyElements = 32 << 20
	// DefaultMaxReplyDepth is far deeper than any reply of Redis (a Lua table
	// converts to a few levels; hiredis long stopped at 7).
	DefaultMaxReplyDepth = 512
	// DefaultMaxReplyLineBytes bounds a status, error, number or header line.
	DefaultMaxReplyLineBytes = 1 << 20
)

// replyLimits validates the Options.MaxReply… fields: zero means the default.
func (o *Options) replyLimits() (wire.Limits, []error) {
	var errs []error
	l := wire.Limits{Bulk: o.MaxReplyBulkBytes, Elements: o.MaxReplyElements, Depth: int64(o.MaxReplyDepth), Line: int64(o.MaxReplyLineBytes)}
	for _, f := range []struct {
		field string
		value *int64
		def   int64
	}{
		{"MaxReplyBulkBytes", &l.Bulk, DefaultMaxReplyBulkBytes},
		{"MaxReplyElements", &l.Elements, DefaultMaxReplyElements},
		{"MaxReplyDepth", &l.Depth, DefaultMaxReplyDepth},
		{"MaxReplyLineBytes", &l.Line, DefaultMaxReplyLineBytes},
	} {
		switch {
		case *f.value < 0 || *f.value > wire.MaxLimit:
			errs = append(errs, optionErrorf(f.field, "is %d: it must be between 1 and %d (0 means %d)", *f.value, int64(wire.MaxLimit), f.def))
		case *f.value == 0:
			*f.value = f.def
		}
	}
	if l.Line < 16 {
		// A line must hold any header within the other limits.
		errs = append(errs, optionErrorf("MaxReplyLineBytes", "is %d: it must be at least 16, to hold a header", l.Line))
	}
	return l, errs
}

// DefaultDialRate is how many new connections per second a node may open
// beyond its pool's size while connections are being thrown away with a
// reply still pending (timeouts, resets).
const DefaultDialRate = 5

// oneSource refuses Options that describe the connection more than once,
// naming the fields actually set.
func (o *Options) oneSource() error {
	var set []string
	for _, f := range []struct {
		field string
		set   bool
	}{{"URL", o.URL != ""}, {"Redis", o.Redis != nil}, {"Cluster", o.Cluster != nil}} {
		if f.set {
			set = append(set, f.field)
		}
	}
	if len(set) < 2 {
		return nil
	}
	return optionErrorf(set[0], "is set together with %s: set only one of URL, Redis and Cluster", strings.Join(set[1:], " and "))
}
