package breaker

import (
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
)

// ErrOpen is returned, at once, for a call the breaker refuses: it is open, or
// half-open with all its probes in flight.
var ErrOpen = circuit.ErrOpen

// Counts are the breaker's counters since the last change of state. While
// closed they cover the rolling window, Requests counts the outcomes reported
// (not the calls still running), and ConsecutiveSuccesses is not kept
// (zero): it would be one word written by every call. While half-open they
// count the probes. While open they are zero.
type Counts struct {
	Requests             uint32 // outcomes reported: successes, failures and exclusions
	TotalSuccesses       uint32
	TotalFailures        uint32
	TotalExclusions      uint32 // outcomes neither a success nor a failure (Settings.IsExcluded)
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// Breaker is a circuit breaker. It is safe for concurrent use.
type Breaker struct {
	m *circuit.Breaker
}

// Ticket is one admitted call. It is a small value: Allow and Done allocate
// nothing while closed. The zero Ticket admits nothing; Done ignores it.
type Ticket struct {
	t circuit.Ticket
}

// New validates s and returns a closed Breaker.
func New(s Settings) (*Breaker, error) {
	m, err := circuit.New(s.circuit())
	if err != nil {
		return nil, settingsErrors(err)
	}
	return &Breaker{m: m}, nil
}

// Allow asks to make one call. ErrOpen: refused, do not make the call.
// Otherwise make it and report its outcome with Done exactly once.
//
// While closed, and while open before its open time has passed, Allow takes no
// lock and allocates nothing.
func (b *Breaker) Allow() (Ticket, error) {
	t, err := b.m.Allow()
	return Ticket{t: t}, err
}

// Done reports the outcome of the call t admitted. A nil err is a success;
// another is classified by Settings.IsExcluded (not counted at all), then
// Settings.IsFailure. An outcome of a call admitted before the breaker last
// changed state is ignored (gobreaker's generation rule).
func (b *Breaker) Done(t Ticket, err error) { b.m.Done(t.t, err) }

// State returns the current state, without locking the breaker.
func (b *Breaker) State() State { return State(b.m.State()) }

// Counts returns the counters since the last change of state.
func (b *Breaker) Counts() Counts { return Counts(b.m.Counts()) }

// IsFailure reports whether the breaker counts err as a failure.
func (b *Breaker) IsFailure(err error) bool { return b.m.IsFailure(err) }

// SlowCallThreshold is the server time above which a caller reports a call as
// ErrSlowCall (Settings.SlowCallThreshold, with its default).
func (b *Breaker) SlowCallThreshold() time.Duration { return b.m.SlowCallThreshold() }
