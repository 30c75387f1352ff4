package redisguard

import (
	"math"
	"math/rand/v2"
	"time"
)

// ReconnectStrategy decides, after the connection was lost or a reconnect attempt
// failed, how long the supervisor waits before reconnect attempt number attempt
// (1 for the first), or that it gives up, by returning an error. cause is the error
// that ended the previous connection or attempt. It is the Go form of node-redis's
// reconnectStrategy.
type ReconnectStrategy interface {
	NextDelay(attempt int, cause error) (time.Duration, error)
}

// ReconnectFunc adapts a function to ReconnectStrategy, as http.HandlerFunc does for
// handlers. A negative delay is taken as zero.
type ReconnectFunc func(attempt int, cause error) (time.Duration, error)

// NextDelay calls f.
func (f ReconnectFunc) NextDelay(attempt int, cause error) (time.Duration, error) {
	return f(attempt, cause)
}

// ExponentialBackoff is the default reconnect strategy: the delay before attempt n is
// min(Base·2^(n−1), Max), times a random factor in [1−Jitter, 1+Jitter].
//
// With DefaultBackoff the delays are 100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000
// and 3000 ms (±10 %), and the client gives up after the tenth failed attempt:
// node-redis's usual reconnectStrategy, quick at first and never more than 3 s apart.
type ExponentialBackoff struct {
	// Base is the delay before the first attempt. Zero means 100 ms.
	Base time.Duration
	// Max caps every delay. Zero means 3 s. It must not be below Base.
	Max time.Duration
	// MaxRetries is the number of attempts before giving up with
	// ErrMaxRetriesReached. Zero means 10; -1 means never give up.
	MaxRetries int
	// Jitter spreads each delay by this fraction, in [0, 1), so that many
	// clients do not reconnect in step. Zero means no jitter (an exact schedule);
	// DefaultBackoff uses 0.1.
	Jitter float64
}

// DefaultBackoff returns the strategy used when Options.Reconnect is nil:
// ExponentialBackoff{Base: 100 ms, Max: 3 s, MaxRetries: 10, Jitter: 0.1}.
func DefaultBackoff() ExponentialBackoff {
	return ExponentialBackoff{
		Base:       100 * time.Millisecond,
		Max:        3 * time.Second,
		MaxRetries: 10,
		Jitter:     0.1,
	}
}

// NextDelay implements ReconnectStrategy.
func (b ExponentialBackoff) NextDelay(attempt int, _ error) (time.Duration, error) {
	b = b.withDefaults()
	if b.MaxRetries >= 0 && attempt > b.MaxRetries {
		return 0, ErrMaxRetriesReached
	}
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if b.Jitter > 0 {
		d = time.Duration(float64(d) * (1 - b.Jitter + 2*b.Jitter*rand.Float64()))
	}
	return d, nil
}

func (b ExponentialBackoff) withDefaults() ExponentialBackoff {
	def := DefaultBackoff()
	if b.Base == 0 {
		b.Base = def.Base
	}
	if b.Max == 0 {
		b.Max = def.Max
	}
	if b.MaxRetries == 0 {
		b.MaxRetries = def.MaxRetries
	}
	return b
}

func (b ExponentialBackoff) validate() []error {
	var errs []error
	if b.Base < 0 {
		errs = append(errs, optionErrorf("Reconnect.Base", "is %v: it must not be negative", b.Base))
	}
	if b.Max < 0 {
		errs = append(errs, optionErrorf("Reconnect.Max", "is %v: it must not be negative", b.Max))
	}
	if d := b.withDefaults(); b.Base >= 0 && b.Max >= 0 && d.Max < d.Base {
		errs = append(errs, optionErrorf("Reconnect.Max", "(%v) is below Reconnect.Base (%v)", d.Max, d.Base))
	}
	if b.MaxRetries < -1 {
		errs = append(errs, optionErrorf("Reconnect.MaxRetries", "is %d: use -1 to never give up", b.MaxRetries))
	}
	if math.IsNaN(b.Jitter) || b.Jitter < 0 || b.Jitter >= 1 {
		errs = append(errs, optionErrorf("Reconnect.Jitter", "is %v: it must lie in [0, 1)", b.Jitter))
	}
	return errs
}
