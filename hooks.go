package redisguard

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// Hooks receive the client's lifecycle events, the Go form of node-redis's connect,
// ready, error, reconnecting and end events. Any field may be nil.
//
// The client-wide hooks (OnReady, OnError, OnReconnecting, OnEnd) describe the
// client: on a standalone or Sentinel client, its one server; on a cluster,
// OnReady fires when the client becomes ready (a node serves), and OnError and
// OnReconnecting fire for every node, the error naming the node. The OnNode
// hooks say which server each event is about, on every kind of client.
//
// OnConnect, OnRefused and the breaker hooks (the latter in the order of each
// breaker's changes) may run on any goroutine, at the same time as other hooks.
// The other hooks of one server run one at a time, in the order of its events,
// on its supervisor goroutine (OnEnd(nil) on the goroutine calling Close);
// those of different servers may run at the same time. Hooks run
// synchronously: they must be quick, must not panic and must not call Close.
type Hooks struct {
	// OnConnect: a new connection to addr was dialed (by a pool, or by a
	// reconnect attempt, before its handshake).
	OnConnect func(addr string)
	// OnReady: the client became ready; commands run.
	OnReady func()
	// OnError: a server's connection was lost (err is why), a reconnect attempt
	// failed, or the reconnect strategy gave up (err wraps ErrMaxRetriesReached).
	// Errors of single commands are returned to their callers, not reported here.
	OnError func(err error)
	// OnReconnecting: reconnect attempt number attempt (from 1) of a server is
	// scheduled to run after delay.
	OnReconnecting func(attempt int, delay time.Duration)
	// OnEnd: no more reconnects. err is nil after Close, or the error wrapping
	// ErrMaxRetriesReached when the strategy gave up. It fires once.
	OnEnd func(err error)
	// OnBreakerStateChange: a circuit breaker changed state (on a cluster, any
	// node's: OnNodeBreakerStateChange says which). It runs on the goroutine of
	// the command that caused the change, while the breaker is locked: it may
	// read the breaker's State but must not send commands.
	OnBreakerStateChange func(from, to breaker.State)
	// OnRefused: a command (or pipeline) was refused before reaching Redis. err
	// is ErrQueueFull, ErrNotReady (wrapped, naming the server), ErrClosed (or
	// the error wrapping ErrMaxRetriesReached) or breaker.ErrOpen. It runs on the
	// command's goroutine, for every refusal: it must be quick. Not logged.
	OnRefused func(err error)

	// OnNodeReady: the server at addr became ready (its first connection, or a
	// successful reconnect attempt).
	OnNodeReady func(addr string)
	// OnNodeError: the server at addr lost its connection, or a reconnect
	// attempt on it failed.
	OnNodeError func(addr string, err error)
	// OnNodeReconnecting: reconnect attempt number attempt on the server at addr
	// is scheduled to run after delay.
	OnNodeReconnecting func(addr string, attempt int, delay time.Duration)
	// OnNodeBreakerStateChange: the breaker of the server at addr changed
	// state, under the same rules as OnBreakerStateChange.
	OnNodeBreakerStateChange func(addr string, from, to breaker.State)
	// OnNodeRemoved: the client no longer uses the server at addr: a cluster's
	// slot map no longer names it, or a Sentinel master moved away from it.
	// Metrics labelled by server can drop it.
	OnNodeRemoved func(addr string)
}

// events fans lifecycle events out to the hooks and the logger.
type events struct {
	mu    sync.Mutex // serializes add
	hooks atomic.Pointer[[]Hooks]
	log   *slog.Logger
	// cluster: the client has many servers, and client-wide errors name theirs.
	cluster atomic.Bool
}

func newEvents(h Hooks, log *slog.Logger) *events {
	e := &events{log: log}
	e.hooks.Store(&[]Hooks{h})
	return e
}

// add appends h; the slice is copied so that emitters never lock.
func (e *events) add(h Hooks) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.hooks.Load()
	hs := make([]Hooks, len(old), len(old)+1)
	copy(hs, old)
	hs = append(hs, h)
	e.hooks.Store(&hs)
}

func (e *events) connect(addr string) {
	e.log.Debug("redis connected", "addr", addr)
	for _, h := range *e.hooks.Load() {
		if h.OnConnect != nil {
			h.OnConnect(addr)
		}
	}
}

func (e *events) ready() {
	e.log.Info("redis ready")
	for _, h := range *e.hooks.Load() {
		if h.OnReady != nil {
			h.OnReady()
		}
	}
}

// error reports a client-wide error: the strategy gave up.
func (e *events) error(err error) {
	e.log.Warn("redis error", "err", err)
	for _, h := range *e.hooks.Load() {
		if h.OnError != nil {
			h.OnError(err)
		}
	}
}

func (e *events) nodeReady(addr string) {
	e.log.Debug("redis server ready", "addr", addr)
	for _, h := range *e.hooks.Load() {
		if h.OnNodeReady != nil {
			h.OnNodeReady(addr)
		}
	}
}

func (e *events) nodeError(addr string, err error) {
	e.log.Warn("redis error", "addr", addr, "err", err)
	clientErr := err
	if e.cluster.Load() {
		clientErr = &nodeError{addr: addr, err: err}
	}
	for _, h := range *e.hooks.Load() {
		if h.OnNodeError != nil {
			h.OnNodeError(addr, err)
		}
		if h.OnError != nil {
			h.OnError(clientErr)
		}
	}
}

func (e *events) nodeReconnecting(addr string, attempt int, delay time.Duration) {
	e.log.Warn("redis reconnecting", "addr", addr, "attempt", attempt, "delay", delay)
	for _, h := range *e.hooks.Load() {
		if h.OnNodeReconnecting != nil {
			h.OnNodeReconnecting(addr, attempt, delay)
		}
		if h.OnReconnecting != nil {
			h.OnReconnecting(attempt, delay)
		}
	}
}

func (e *events) breakerStateChange(addr string, from, to breaker.State) {
	e.log.Warn("redis circuit breaker", "addr", addr, "from", from.String(), "to", to.String())
	for _, h := range *e.hooks.Load() {
		if h.OnNodeBreakerStateChange != nil {
			h.OnNodeBreakerStateChange(addr, from, to)
		}
		if h.OnBreakerStateChange != nil {
			h.OnBreakerStateChange(from, to)
		}
	}
}

func (e *events) nodeRemoved(addr string) {
	e.log.Info("redis server removed", "addr", addr)
	for _, h := range *e.hooks.Load() {
		if h.OnNodeRemoved != nil {
			h.OnNodeRemoved(addr)
		}
	}
}

func (e *events) refused(err error) {
	for _, h := range *e.hooks.Load() {
		if h.OnRefused != nil {
			h.OnRefused(err)
		}
	}
}

func (e *events) end(err error) {
	if err != nil {
		e.log.Error("redis connection ended: the reconnect strategy gave up and the client is closed for good; "+
			"every command now fails. Set Options.Reconnect (e.g. ExponentialBackoff{MaxRetries: -1}) to never give up, "+
			"or restart the process once Redis is back", "err", err)
	} else {
		e.log.Info("redis connection closed")
	}
	for _, h := range *e.hooks.Load() {
		if h.OnEnd != nil {
			h.OnEnd(err)
		}
	}
}

// nodeError is a cluster node's error as the client-wide OnError sees it: it
// names the node.
type nodeError struct {
	addr string
	err  error
}

func (e *nodeError) Error() string { return e.addr + ": " + e.err.Error() }
func (e *nodeError) Unwrap() error { return e.err }

// GoRedisLogger sends the records go-redis writes on its own (a pool that
// failed to dial, a push notification it could not drain, a Sentinel
// failover, a cluster slot migration, a recovered panic) to a *slog.Logger
// instead of the standard error, where they bypass Options.Logger.
//
// go-redis v9 has one logger for the whole process, replaced with
// redis.SetLogger, and no logger per client. A Client therefore cannot send
// go-redis's records to its own Options.Logger without taking them from
// every other go-redis client in the process, and New leaves the process's
// logger alone. Install a GoRedisLogger once, at the start of main, next to
// the program's other global logging settings:
//
//	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
//	redis.SetLogger(redisguard.NewGoRedisLogger(logger.With("component", "go-redis")))
//
// Records carry no level in go-redis: one that reports a panic is logged at
// Error, one that reports a failure at Warn, any other at Info. The context
// go-redis passes (the command's, where it has one) goes to the handler, so
// that trace IDs in it are kept.
type GoRedisLogger struct {
	log *slog.Logger
}

// NewGoRedisLogger returns a GoRedisLogger writing to l; a nil l discards
// every record, as go-redis's logging.Disable does.
func NewGoRedisLogger(l *slog.Logger) *GoRedisLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &GoRedisLogger{log: l}
}

// Printf logs one record of go-redis. It implements go-redis's logging
// interface.
func (g *GoRedisLogger) Printf(ctx context.Context, format string, args ...any) {
	msg := goRedisMessage(fmt.Sprintf(format, args...))
	level := slog.LevelInfo
	switch lower := strings.ToLower(msg); {
	case strings.Contains(lower, "panic"):
		level = slog.LevelError
	case strings.Contains(lower, "fail"), strings.Contains(lower, "error"), strings.Contains(lower, "unexpected"):
		level = slog.LevelWarn
	}
	if ctx == nil {
		ctx = context.Background()
	}
	g.log.Log(ctx, level, msg)
}

// goRedisMessage trims a go-redis record for slog: without the "redis: "
// prefix (the logger's attributes say where a record comes from), and
// without the arguments an "unknown command" reply echoes, which may hold a password (an
// old server echoes HELLO … AUTH user password).
func goRedisMessage(msg string) string {
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "redis: "))
	if i := strings.Index(msg, ", with args beginning with:"); i >= 0 {
		msg = msg[:i] + ", with args beginning with: (not shown)"
	}
	return msg
}
