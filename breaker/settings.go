package breaker

import (
	"errors"
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
)

// Defaults of the zero Settings.
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

// DefaultSlowCallThreshold is the server time above which a call counts as a
// failure (ErrSlowCall) when Settings.SlowCallThreshold is zero.
//
// 500 ms is far above a healthy Redis (a reply takes well under a millisecond),
// and above what a loaded host adds to a measurement by scheduling the reader
// late (tens of milliseconds). It is five times the cache's default 100 ms
// budget: a caller that gives up at its own deadline has seen at most that much
// server time, so hurried callers never count as slow, however many they are.
// It is the top of the usual Redis latency histogram (0.001…0.5 s): a reply beyond
// its last bucket is an outage, not a tail. And it is short enough that a
// stopped server (SIGSTOP, a fork that stalls it, a long script) is judged
// about half a second after it stopped, once the calls then in flight pass it.
const DefaultSlowCallThreshold = 500 * time.Millisecond

// Settings configures a Breaker. The zero Settings has every default.
type Settings struct {
	// Name identifies the breaker, e.g. in logs. Zero means "redis".
	Name string

	// ConsecutiveFailures opens the breaker after this many failures in a row
	// within Window. Zero means 5.
	ConsecutiveFailures uint32

	// FailureRatio opens the breaker when at least this fraction of the calls
	// counted in the last Window failed, once MinRequests were counted. It lies
	// in (0, 1]; zero means 0.5.
	FailureRatio float64

	// MinRequests is how many calls the window must hold before FailureRatio
	// applies. Zero means 20.
	MinRequests uint32

	// Window is the rolling window of both rules. Zero means 10 s; otherwise
	// at least 10 ms.
	Window time.Duration

	// OpenTimeout is the longest the breaker stays open before letting
	// probes through. Zero means 5 s.
	OpenTimeout time.Duration

	// MinOpenTimeout is how long the breaker stays open the first time after
	// it was closed; every reopening from half-open (the probes failed)
	// doubles it, up to OpenTimeout, and closing starts it again. A short
	// stall thus costs about its own length, and a server that stays sick
	// sees ever fewer probes. Zero means
	// 100 ms when OpenTimeout is zero too, and OpenTimeout otherwise (a
	// fixed open time, as before this field existed). It must not be
	// negative, nor exceed OpenTimeout.
	MinOpenTimeout time.Duration

	// HalfOpenRequests is how many probes go through while half-open; the
	// breaker closes when that many succeed in a row. Zero means 3.
	HalfOpenRequests uint32

	// SlowCallThreshold is the server's own time above which a call is a
	// failure: its caller reports ErrSlowCall for it. The breaker measures
	// nothing itself (see ErrSlowCall for the contract); a caller reads the
	// threshold with Breaker.SlowCallThreshold. Zero means
	// DefaultSlowCallThreshold (500 ms); it must not be negative.
	SlowCallThreshold time.Duration

	// IsFailure classifies an outcome. Nil means IsFailure. A custom
	// classifier should count ErrSlowCall, e.g. by asking IsFailure first.
	IsFailure func(error) bool

	// IsExcluded picks outcomes counted neither as successes nor as failures.
	// Nil means IsExcluded: the caller's context ended.
	IsExcluded func(error) bool

	// OnStateChange is called on every change of state, once and in order. It
	// runs while the breaker is locked: it may call State, but not Allow,
	// Done, Counts or Do.
	OnStateChange func(from, to State)
}

// SettingsError reports an invalid Settings field.
type SettingsError struct {
	Field  string
	Reason string
}

func (e *SettingsError) Error() string {
	return "breaker: invalid Settings." + e.Field + ": " + e.Reason
}

// circuit returns s as the state machine's settings.
func (s Settings) circuit() circuit.Settings {
	c := circuit.Settings{
		Name:                s.Name,
		ConsecutiveFailures: s.ConsecutiveFailures,
		FailureRatio:        s.FailureRatio,
		MinRequests:         s.MinRequests,
		Window:              s.Window,
		OpenTimeout:         s.OpenTimeout,
		MinOpenTimeout:      s.MinOpenTimeout,
		HalfOpenRequests:    s.HalfOpenRequests,
		SlowCallThreshold:   s.SlowCallThreshold,
		IsFailure:           s.IsFailure,
		IsExcluded:          s.IsExcluded,
	}
	if on := s.OnStateChange; on != nil {
		c.OnStateChange = func(from, to circuit.State) { on(State(from), State(to)) }
	}
	return c
}

// settingsErrors returns the state machine's validation errors as the
// package's own.
func settingsErrors(err error) error {
	var errs []error
	for _, e := range unjoin(err) {
		var ce *circuit.SettingsError
		if errors.As(e, &ce) {
			e = &SettingsError{Field: ce.Field, Reason: ce.Reason}
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// unjoin returns the errors an errors.Join result holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
