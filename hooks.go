package redisguard

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// Hooks receive the client's lifecycle events, the Go form of node-redis's connect,
// ready, error, reconnecting and end events. Any field may be nil.
//
// OnConnect, OnRefused and OnBreakerStateChange (the latter in the order of the
// breaker's changes) may run on any goroutine, at the same time as other hooks. The other
// hooks run one at a time, in the order of the events, on the client's supervisor
// goroutine (OnEnd(nil) on the goroutine calling Close). Hooks run synchronously:
// they must be quick, must not panic and must not call Close.
type Hooks struct {
	// OnConnect: a new connection to addr was dialed (by the pool, or by a
	// reconnect attempt, before its handshake).
	OnConnect func(addr string)
	// OnReady: the client became ready; commands run.
	OnReady func()
	// OnError: the connection was lost (err is why), a reconnect attempt failed, or
	// the reconnect strategy gave up (err wraps ErrMaxRetriesReached). Errors of
	// single commands are returned to their callers, not reported here.
	OnError func(err error)
	// OnReconnecting: reconnect attempt number attempt (from 1) is scheduled to run
	// after delay.
	OnReconnecting func(attempt int, delay time.Duration)
	// OnEnd: no more reconnects. err is nil after Close, or the error wrapping
	// ErrMaxRetriesReached when the strategy gave up. It fires once.
	OnEnd func(err error)
	// OnBreakerStateChange: the circuit breaker changed state. It runs on the
	// goroutine of the command that caused the change, while the breaker is
	// locked: it may read Client.Breaker().State() but must not send commands.
	OnBreakerStateChange func(from, to breaker.State)
	// OnRefused: a command (or pipeline) was refused before reaching Redis. err
	// is ErrQueueFull, ErrNotReady, ErrClosed (or the error wrapping
	// ErrMaxRetriesReached) or breaker.ErrOpen. It runs on the command's
	// goroutine, for every refusal: it must be quick. Not logged.
	OnRefused func(err error)
}

// events fans lifecycle events out to the hooks and the logger.
type events struct {
	mu    sync.Mutex // serializes add
	hooks atomic.Pointer[[]Hooks]
	log   *slog.Logger
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

func (e *events) error(err error) {
	e.log.Warn("redis error", "err", err)
	for _, h := range *e.hooks.Load() {
		if h.OnError != nil {
			h.OnError(err)
		}
	}
}

func (e *events) reconnecting(attempt int, delay time.Duration) {
	e.log.Warn("redis reconnecting", "attempt", attempt, "delay", delay)
	for _, h := range *e.hooks.Load() {
		if h.OnReconnecting != nil {
			h.OnReconnecting(attempt, delay)
		}
	}
}

func (e *events) breakerStateChange(from, to breaker.State) {
	e.log.Warn("redis circuit breaker", "from", from.String(), "to", to.String())
	for _, h := range *e.hooks.Load() {
		if h.OnBreakerStateChange != nil {
			h.OnBreakerStateChange(from, to)
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
		e.log.Error("redis connection ended", "err", err)
	} else {
		e.log.Info("redis connection closed")
	}
	for _, h := range *e.hooks.Load() {
		if h.OnEnd != nil {
			h.OnEnd(err)
		}
	}
}
