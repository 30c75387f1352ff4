package breaker

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrOpen is returned, at once, for a call the breaker refuses: it is open, or
// half-open with all its probes in flight.
var ErrOpen = errors.New("breaker: circuit open")

// Defaults of the zero Settings.
const (
	DefaultName                = "redis"
	DefaultConsecutiveFailures = 5
	DefaultFailureRatio        = 0.5
	DefaultMinRequests         = 20
	DefaultWindow              = 10 * time.Second
	DefaultOpenTimeout         = 5 * time.Second
	DefaultHalfOpenRequests    = 3
)

// windowBuckets is how many buckets the rolling window is cut into: the ratio
// rule forgets old calls a tenth of the window at a time.
const windowBuckets = 10

// Settings configures a Breaker. The zero Settings has every default.
type Settings struct {
	// Name identifies the breaker, e.g. in logs. Zero means "redis".
	Name string

	// ConsecutiveFailures opens the breaker after this many failures in a row.
	// Zero means 5.
	ConsecutiveFailures uint32

	// FailureRatio opens the breaker when at least this fraction of the calls
	// counted in the last Window failed, once MinRequests were counted. It lies
	// in (0, 1]; zero means 0.5.
	FailureRatio float64

	// MinRequests is how many calls the window must hold before FailureRatio
	// applies. Zero means 20.
	MinRequests uint32

	// Window is the rolling window of the ratio rule. Zero means 10 s.
	Window time.Duration

	// OpenTimeout is how long the breaker stays open before letting probes
	// through. Zero means 5 s.
	OpenTimeout time.Duration

	// HalfOpenRequests is how many probes go through while half-open; the
	// breaker closes when that many succeed in a row. Zero means 3.
	HalfOpenRequests uint32

	// IsFailure classifies an outcome. Nil means IsFailure.
	IsFailure func(error) bool

	// IsExcluded picks outcomes counted neither as successes nor as failures.
	// Nil means IsExcluded: the caller's context ended.
	IsExcluded func(error) bool

	// OnStateChange is called on every change of state, in order. It runs while
	// the breaker is locked: it may call State, but not Allow, Counts or Do.
	OnStateChange func(from, to State)
}

// Counts are the breaker's counters since the last change of state (gobreaker's
// Counts; in the closed state, over the rolling window).
type Counts = gobreaker.Counts

// Breaker is a circuit breaker. It is safe for concurrent use.
type Breaker struct {
	cb          *gobreaker.TwoStepCircuitBreaker[struct{}]
	isFailure   func(error) bool
	openTimeout time.Duration

	// state mirrors the breaker's state, with when it was entered, so that State
	// needs no lock: OnStateChange may call it.
	state    atomic.Int32
	openedAt atomic.Int64 // unix nanoseconds of the last change to open
}

// New validates s and returns a closed Breaker.
func New(s Settings) (*Breaker, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	b := &Breaker{isFailure: s.IsFailure, openTimeout: s.OpenTimeout}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         s.Name,
		MaxRequests:  s.HalfOpenRequests,
		Interval:     s.Window,
		BucketPeriod: s.Window / windowBuckets,
		Timeout:      s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= s.ConsecutiveFailures {
				return true
			}
			counted := c.TotalSuccesses + c.TotalFailures
			return counted >= s.MinRequests && float64(c.TotalFailures) >= s.FailureRatio*float64(counted)
		},
		IsSuccessful: func(err error) bool { return err != errPanicked && !s.IsFailure(err) },
		IsExcluded:   s.IsExcluded,
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(time.Now().UnixNano())
			}
			b.state.Store(int32(fromGobreaker(to)))
			if s.OnStateChange != nil {
				s.OnStateChange(fromGobreaker(from), fromGobreaker(to))
			}
		},
	})
	return b, nil
}

// Allow asks to make one call. When the breaker refuses, err is ErrOpen and the
// call must not be made. Otherwise the caller makes it and passes its outcome to
// done, exactly once.
func (b *Breaker) Allow() (done func(error), err error) {
	done, err = b.cb.Allow()
	if err != nil {
		return nil, ErrOpen
	}
	return done, nil
}

// State returns the current state, without locking the breaker.
func (b *Breaker) State() State {
	s := State(b.state.Load())
	if s == StateOpen && time.Since(time.Unix(0, b.openedAt.Load())) >= b.openTimeout {
		// gobreaker turns open into half-open lazily, on its next call.
		return StateHalfOpen
	}
	return s
}

// Counts returns the counters since the last change of state.
func (b *Breaker) Counts() Counts { return b.cb.Counts() }

// IsFailure reports whether the breaker counts err as a failure.
func (b *Breaker) IsFailure(err error) bool { return b.isFailure(err) }

func (s Settings) withDefaults() Settings {
	if s.Name == "" {
		s.Name = DefaultName
	}
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if s.FailureRatio == 0 {
		s.FailureRatio = DefaultFailureRatio
	}
	if s.MinRequests == 0 {
		s.MinRequests = DefaultMinRequests
	}
	if s.Window == 0 {
		s.Window = DefaultWindow
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = DefaultOpenTimeout
	}
	if s.HalfOpenRequests == 0 {
		s.HalfOpenRequests = DefaultHalfOpenRequests
	}
	if s.IsFailure == nil {
		s.IsFailure = IsFailure
	}
	if s.IsExcluded == nil {
		s.IsExcluded = IsExcluded
	}
	return s
}

// SettingsError reports an invalid Settings field.
type SettingsError struct {
	Field  string
	Reason string
}

func (e *SettingsError) Error() string {
	return "breaker: invalid Settings." + e.Field + ": " + e.Reason
}

func (s Settings) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &SettingsError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if r := s.FailureRatio; math.IsNaN(r) || r < 0 || r > 1 {
		bad("FailureRatio", "is %v: it must lie in (0, 1]", r)
	}
	if s.Window < 0 {
		bad("Window", "is %v: it must not be negative", s.Window)
	} else if s.Window > 0 && s.Window < windowBuckets*time.Millisecond {
		bad("Window", "is %v: it must be at least %v", s.Window, windowBuckets*time.Millisecond)
	}
	if s.OpenTimeout < 0 {
		bad("OpenTimeout", "is %v: it must not be negative", s.OpenTimeout)
	}
	return errors.Join(errs...)
}
