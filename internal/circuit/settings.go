package circuit

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults of the zero Settings; breaker's constants of the same names equal them.
const (
	DefaultName                = "redis"
	DefaultConsecutiveFailures = 5
	DefaultFailureRatio        = 0.5
	DefaultMinRequests         = 20
	DefaultWindow              = 10 * time.Second
	DefaultOpenTimeout         = 5 * time.Second
	DefaultMinOpenTimeout      = 100 * time.Millisecond
	DefaultHalfOpenRequests    = 3
)

// DefaultSlowCallThreshold: see breaker.DefaultSlowCallThreshold.
const DefaultSlowCallThreshold = 500 * time.Millisecond

// windowBuckets is how many buckets the rolling window is cut into: the ratio
// rule forgets old calls a tenth of the window at a time.
const windowBuckets = 10

// Settings configures a Breaker: breaker.Settings, field for field (see its
// documentation), with OnStateChange taking this package's State.
type Settings struct {
	Name                string
	ConsecutiveFailures uint32
	FailureRatio        float64
	MinRequests         uint32
	Window              time.Duration
	OpenTimeout         time.Duration
	MinOpenTimeout      time.Duration
	HalfOpenRequests    uint32
	SlowCallThreshold   time.Duration
	IsFailure           func(error) bool
	IsExcluded          func(error) bool
	OnStateChange       func(from, to State)
}

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
	if s.MinOpenTimeout == 0 {
		s.MinOpenTimeout = s.OpenTimeout
		if s.OpenTimeout == 0 {
			s.MinOpenTimeout = DefaultMinOpenTimeout
		}
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = DefaultOpenTimeout
	}
	if s.HalfOpenRequests == 0 {
		s.HalfOpenRequests = DefaultHalfOpenRequests
	}
	if s.SlowCallThreshold == 0 {
		s.SlowCallThreshold = DefaultSlowCallThreshold
	}
	if s.IsFailure == nil {
		s.IsFailure = IsFailure
	}
	if s.IsExcluded == nil {
		s.IsExcluded = IsExcluded
	}
	return s
}

// SettingsError reports an invalid Settings field; breaker.SettingsError
// carries it to the user.
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
	if s.MinOpenTimeout < 0 {
		bad("MinOpenTimeout", "is %v: it must not be negative", s.MinOpenTimeout)
	} else if open := cmp.Or(s.OpenTimeout, DefaultOpenTimeout); s.OpenTimeout >= 0 && s.MinOpenTimeout > open {
		bad("MinOpenTimeout", "is %v: it must not exceed OpenTimeout (%v)", s.MinOpenTimeout, open)
	}
	if s.SlowCallThreshold < 0 {
		bad("SlowCallThreshold", "is %v: it must not be negative", s.SlowCallThreshold)
	}
	return errors.Join(errs...)
}
