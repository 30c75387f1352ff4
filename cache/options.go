package cache

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultTimeout bounds each Redis operation of a cache: above a LAN's or a
// cloud zone's round trip with room to spare, and small next to the budget of a
// product request, which still gets its answer from the loader when Redis is
// slower than that.
const DefaultTimeout = 100 * time.Millisecond

// DefaultJitter spreads TTLs by ±10 %.
const DefaultJitter = 0.1

// Options configures a Cache.
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

	// Timeout bounds each Redis operation. Zero means DefaultTimeout (100 ms);
	// -1 means no bound of the cache's own: the caller's context and the
	// client's ReadTimeout apply (this saves a context, 5 allocations, per call).
	Timeout time.Duration

	// OnFallback is called when Redis failed and the loader answered, with the
	// key (without the prefix) and the Redis error. It must be quick.
	OnFallback func(key string, err error)

	// Observer is called with the outcome of every key a Get or GetMany served,
	// e.g. to count them in metrics. It must be quick.
	Observer func(cache string, r Result)
}

// ErrInvalidOptions is wrapped by every error New returns for bad options.
var ErrInvalidOptions = errors.New("cache: invalid options")

func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s %s", ErrInvalidOptions, field, fmt.Sprintf(format, args...)))
	}
	if o.TTL <= 0 {
		bad("TTL", "is %v: it is required and must be positive", o.TTL)
	}
	switch j := o.Jitter; {
	case j == -1:
		o.Jitter = 0
	case j == 0:
		o.Jitter = DefaultJitter
	case math.IsNaN(j) || j < 0 || j >= 1:
		bad("Jitter", "is %v: it must lie in [0, 1) (-1 turns it off)", j)
	}
	if o.NegativeTTL < 0 {
		bad("NegativeTTL", "is %v: it must not be negative", o.NegativeTTL)
	}
	switch {
	case o.Timeout == -1:
	case o.Timeout < 0:
		bad("Timeout", "is %v: it must not be negative (-1 turns the budget off)", o.Timeout)
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
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
