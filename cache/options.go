package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/redisguard/redisguard/internal/typednil"
)

// Defaults of Options.
const (
	// DefaultTimeout is the Redis time budget of one Get: above a LAN's or a
	// cloud zone's round trip with room to spare, and small next to the budget
	// of a product request, which still gets its answer from the loader when
	// Redis is slower than that.
	DefaultTimeout = 100 * time.Millisecond

	// DefaultJitter spreads TTLs by ±10 %.
	DefaultJitter = 0.1

	// DefaultLoadTimeout bounds one shared load: long enough for a slow
	// database query, short enough that a hung one does not hold its key for
	// long.
	DefaultLoadTimeout = 10 * time.Second

	// DefaultFillLockTTL is how long a fill lock outlives an instance that died
	// holding it. A load slower than this lets a second instance load too.
	DefaultFillLockTTL = 2 * time.Second

	// DefaultEarlyRefreshBeta is XFetch's β: 1 is the value of the paper, larger
	// refreshes earlier.
	DefaultEarlyRefreshBeta = 1.0

	// DefaultMaxPendingInvalidations bounds the invalidations a Cache keeps
	// while Redis cannot be reached: about 100 bytes each.
	DefaultMaxPendingInvalidations = 100_000
)

// Options configures a Cache. The zero value of every field but TTL means its
// documented default.
type Options struct {
	// Name identifies the cache to the Observer (a metrics label). Zero means
	// the Prefix without a trailing ':', or "default".
	Name string

	// Prefix is prepended to every key, e.g. "product:".
	Prefix string

	// TTL is how long a value lives in Redis. Required.
	TTL time.Duration

	// Jitter spreads each TTL by this fraction, up or down, in [0, 1). Zero
	// means 0.1; -1 turns the jitter off.
	Jitter float64

	// NegativeTTL, when positive, caches a loader's ErrNotFound for that long.
	// Zero means not-found is not cached.
	NegativeTTL time.Duration

	// Codec encodes values. Nil means raw storage for []byte and string values
	// and JSON for the rest.
	Codec Codec

	// Timeout is the Redis time budget of each Redis operation of a Get (or
	// GetMany, Set, Delete, Update): the read, rounded up by 5 % at most, the
	// lease step, each poll while waiting for another instance's value, the
	// store before answering; the loader's own time is not part of it. Zero
	// means DefaultTimeout (100 ms); -1 means no budget of the cache's own:
	// the caller's context and the client's timeouts apply.
	Timeout time.Duration

	// LoadTimeout bounds one shared load (the loader's context ends then, and
	// its waiters get an error wrapping ErrLoadTimeout); a later Get of the key
	// starts a fresh load. Zero means DefaultLoadTimeout (10 s).
	LoadTimeout time.Duration

	// DisableFillLock turns off the wait for another instance's load: each
	// instance that misses a key loads it. Leases still guard the stores.
	DisableFillLock bool

	// FillLockTTL is how long a lease (the fill lock) lives when its holder
	// dies before storing or ending it, and so the longest an instance waits
	// for another's load. Zero means DefaultFillLockTTL (2 s).
	FillLockTTL time.Duration

	// StaleIfError, when positive, keeps a value in Redis that much past its
	// TTL (RFC 5861's stale-if-error): a Get of such a value calls the loader,
	// and answers the expired value, with a nil error and ResultStale, when the
	// loader fails (an error other than ErrNotFound, or LoadTimeout). An
	// expired value never answers when the loader succeeds or says not found,
	// nor past TTL + StaleIfError. Zero: off, an expired value is gone.
	StaleIfError time.Duration

	// Clone, when set, must be a func(V) V for the Cache's V: the callers that
	// share one load each get a copy made by Clone but the first, who gets the
	// loaded value. Nil: they share one value (see Cache.Get).
	Clone any

	// Logger receives the Cache's rare warnings (leases turned off because
	// Redis runs no scripts for this client). Nil means no logging.
	Logger *slog.Logger

	// DisableEarlyRefresh turns off the probabilistic early refresh (XFetch)
	// of values close to their expiry. With it on (the default) values are
	// stored with a 16-byte header holding their expiry and load time; with it
	// off they are stored as they are.
	DisableEarlyRefresh bool

	// EarlyRefreshBeta is XFetch's β, > 0: larger refreshes earlier. Zero
	// means DefaultEarlyRefreshBeta (1).
	EarlyRefreshBeta float64

	// MaxPendingInvalidations bounds the invalidations kept while Redis cannot
	// be reached. Zero means DefaultMaxPendingInvalidations. See
	// Cache.Update for what happens when it overflows.
	MaxPendingInvalidations int

	// Near, when set, serves hits from process memory: decoded values kept up
	// to date by Redis's invalidation messages, which the Near receives on
	// connections of its own. Nothing else is needed; Prefix must be set (see
	// Near).
	Near *Near

	// OnFallback is called when Redis failed and the loader answered, with the
	// key (without the prefix) and the Redis error. It must be quick.
	OnFallback func(key string, err error)

	// Observer is called with the outcome of every key a Get or GetMany served,
	// and with the events of Result.Served() == false, e.g. to count them in
	// metrics. It must be quick.
	Observer func(cache string, r Result)
}

// optionErrors collects the errors of bad fields, each naming its field.
type optionErrors []error

func (e *optionErrors) add(field, format string, args ...any) {
	*e = append(*e, fmt.Errorf("%w: %s %s", ErrInvalidOptions, field, fmt.Sprintf(format, args...)))
}

func (o Options) withDefaults() (Options, error) {
	var errs optionErrors
	if o.TTL <= 0 {
		errs.add("TTL", "is %v: it is required and must be positive", o.TTL)
	}
	switch j := o.Jitter; {
	case j == -1:
		o.Jitter = 0
	case j == 0:
		o.Jitter = DefaultJitter
	case math.IsNaN(j) || j < 0 || j >= 1:
		errs.add("Jitter", "is %v: it must lie in [0, 1) (-1 turns it off)", j)
	}
	if o.NegativeTTL < 0 {
		errs.add("NegativeTTL", "is %v: it must not be negative", o.NegativeTTL)
	}
	if o.Codec != nil && typednil.Is(o.Codec) { // nil: the default codec
		errs.add("Codec", "is a nil %T: leave it nil for the default or give a usable codec", o.Codec)
	}
	switch {
	case o.Timeout == -1:
	case o.Timeout < 0:
		errs.add("Timeout", "is %v: it must not be negative (-1 turns the budget off)", o.Timeout)
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.LoadTimeout < 0:
		errs.add("LoadTimeout", "is %v: it must not be negative", o.LoadTimeout)
	case o.LoadTimeout == 0:
		o.LoadTimeout = DefaultLoadTimeout
	}
	switch {
	case o.FillLockTTL < 0:
		errs.add("FillLockTTL", "is %v: it must not be negative", o.FillLockTTL)
	case o.FillLockTTL > 0 && o.FillLockTTL < time.Millisecond:
		errs.add("FillLockTTL", "is %v: Redis counts it in milliseconds, so it must be at least 1ms", o.FillLockTTL)
	case o.FillLockTTL == 0:
		o.FillLockTTL = DefaultFillLockTTL
	}
	switch {
	case o.StaleIfError < 0:
		errs.add("StaleIfError", "is %v: it must not be negative (zero turns it off)", o.StaleIfError)
	case o.StaleIfError > 0 && o.StaleIfError < time.Millisecond:
		errs.add("StaleIfError", "is %v: Redis counts it in milliseconds, so it must be at least 1ms", o.StaleIfError)
	}
	switch b := o.EarlyRefreshBeta; {
	case b == 0:
		o.EarlyRefreshBeta = DefaultEarlyRefreshBeta
	case math.IsNaN(b) || math.IsInf(b, 0) || b < 0:
		errs.add("EarlyRefreshBeta", "is %v: it must be a positive number", b)
	}
	switch {
	case o.MaxPendingInvalidations < 0:
		errs.add("MaxPendingInvalidations", "is %d: it must not be negative", o.MaxPendingInvalidations)
	case o.MaxPendingInvalidations == 0:
		o.MaxPendingInvalidations = DefaultMaxPendingInvalidations
	}
	if o.Name == "" {
		o.Name = defaultName(o.Prefix)
	}
	return o, errors.Join(errs...)
}

func defaultName(prefix string) string {
	for len(prefix) > 0 && prefix[len(prefix)-1] == ':' {
		prefix = prefix[:len(prefix)-1]
	}
	if prefix == "" {
		return "default"
	}
	return prefix
}
