package circuit

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrOpen is returned, at once, for a call the breaker refuses: it is open, or
// half-open with all its probes in flight.
var ErrOpen = errors.New("breaker: circuit open")

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

// countsOf returns gobreaker's counts of the probes as the package's own.
func countsOf(c gobreaker.Counts) Counts {
	return Counts{
		Requests:             c.Requests,
		TotalSuccesses:       c.TotalSuccesses,
		TotalFailures:        c.TotalFailures,
		TotalExclusions:      c.TotalExclusions,
		ConsecutiveSuccesses: c.ConsecutiveSuccesses,
		ConsecutiveFailures:  c.ConsecutiveFailures,
	}
}

// Breaker is a circuit breaker. It is safe for concurrent use.
//
// sony/gobreaker's two-step breaker is its state machine: it opens, lets the
// half-open probes through, closes and reopens. While closed, calls do not go
// through it: a lock-free path admits them and counts their outcomes, and when
// a rule trips it asks gobreaker to open.
type Breaker struct {
	// phase is the state gobreaker last entered, replaced on every change:
	// a Ticket remembers the phase that admitted it, and its outcome counts
	// only while that phase lasts.
	phase atomic.Pointer[phase]

	// mu orders the calls into gobreaker, which lets probes through as soon
	// as it is asked once open: every call that may reach it while open
	// checks the Breaker's own open time under mu first.
	mu                sync.Mutex
	cb                *gobreaker.TwoStepCircuitBreaker[struct{}]
	rules             tripRules
	isFailure         func(error) bool
	isExcluded        func(error) bool
	window            time.Duration
	openTimeout       time.Duration // the longest open time
	minOpenTimeout    time.Duration // the first open time after closed
	slowCallThreshold time.Duration
	// epoch is what probesAt counts from, on the monotonic clock.
	epoch time.Time
	// clock, when set, replaces the time since epoch as the clock of the
	// open time: tests move it instead of sleeping.
	clock func() time.Duration
	// reopened counts the openings since the breaker was last closed; it is
	// written under gobreaker's lock only (in OnStateChange).
	reopened int
	// retired: another breaker replaces this one (see Retire).
	retired atomic.Bool
}

// phase is one stay in a state.
type phase struct {
	state State
	// window counts the outcomes while closed.
	window *window
	// tripping is set, while closed, when a rule tripped and the closed path
	// is asking gobreaker to open.
	tripping atomic.Bool
	// probesAt is when the breaker lets probes through, while open: the
	// open time since epoch, which ServerAnswered may bring forward.
	probesAt atomic.Int64
	// call is the admission of every call the phase admits, while closed.
	call admission
}

// Ticket is one admitted call. It is one word, which a caller keeps on
// every call's path at the cost of one: a call admitted while closed holds
// its phase's admission, and only a half-open probe's is allocated, so Allow
// and Done allocate nothing while closed. The zero Ticket admits nothing;
// Done ignores it.
type Ticket struct{ a *admission }

// admission is what a Ticket admits.
type admission struct {
	phase *phase      // the phase that admitted it
	done  func(error) // admitted by gobreaker: half-open
}

// tripSignal is the outcome the closed path reports to gobreaker to open it,
// naming the closed phase it ends: if that phase is already over, gobreaker
// must not count it.
type tripSignal struct{ closing *phase }

func (tripSignal) Error() string { return "breaker: a rule tripped while closed" }

// New validates s and returns a closed Breaker.
func New(s Settings) (*Breaker, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	b := &Breaker{
		rules:             tripRules{consecutive: s.ConsecutiveFailures, ratio: s.FailureRatio, minRequests: s.MinRequests},
		isFailure:         s.IsFailure,
		isExcluded:        s.IsExcluded,
		window:            s.Window,
		openTimeout:       s.OpenTimeout,
		minOpenTimeout:    s.MinOpenTimeout,
		slowCallThreshold: s.SlowCallThreshold,
		epoch:             time.Now(),
	}
	b.phase.Store(b.newPhase(StateClosed, time.Now()))
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        s.Name,
		MaxRequests: s.HalfOpenRequests,
		// The open time is the Breaker's own (see openTime): gobreaker lets
		// probes through as soon as the Breaker asks it to.
		Timeout: time.Nanosecond,
		// No Interval: gobreaker judges nothing while closed. Only the closed
		// path's trip signals reach it then, and the rare call it admitted
		// just as the probes closed it; so it opens when the closed path
		// asked it to, and never on that call's failure alone.
		ReadyToTrip: func(gobreaker.Counts) bool { return b.phase.Load().tripping.Load() },
		IsSuccessful: func(err error) bool {
			if _, ok := err.(tripSignal); ok {
				return false
			}
			return !b.countsAsFailure(err)
		},
		IsExcluded: func(err error) bool {
			// A trip signal that arrives after its closed phase ended (it
			// was admitted in a later state) must not count there.
			if ts, ok := err.(tripSignal); ok {
				return ts.closing != b.phase.Load()
			}
			return b.isExcluded(err)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// gobreaker holds its lock: phases are replaced in its order.
			switch to {
			case gobreaker.StateClosed:
				b.reopened = 0
			case gobreaker.StateOpen:
				b.reopened++
			}
			b.endWindow()
			b.phase.Store(b.newPhase(fromGobreaker(to), time.Now()))
			if s.OnStateChange != nil {
				s.OnStateChange(fromGobreaker(from), fromGobreaker(to))
			}
		},
	})
	return b, nil
}

func (b *Breaker) newPhase(s State, now time.Time) *phase {
	p := &phase{state: s}
	p.call.phase = p
	switch s {
	case StateClosed:
		p.window = newWindow(now, b.window)
		p.window.over.Store(b.retired.Load())
	case StateOpen:
		p.probesAt.Store(int64(b.since() + b.openTime()))
	}
	return p
}

// endWindow ends the counting of the present phase's window, if it has one:
// the tallies counting in it stop (see Tally.Success).
func (b *Breaker) endWindow() {
	if w := b.phase.Load().window; w != nil {
		w.over.Store(true)
	}
}

// Retire tells a breaker that another replaces it: the tallies counting in
// it stop, and count their next success where they are asked to
// (RecordSuccess), as they do when its closed phase ends.
func (b *Breaker) Retire() {
	b.retired.Store(true)
	b.endWindow()
}

// openTime is how long the breaker stays open this time: MinOpenTimeout
// after closed, doubling at every reopening from half-open (the server
// stayed bad), up to OpenTimeout. A stall thus costs about its own length,
// while a server that stays sick sees ever fewer probes.
func (b *Breaker) openTime() time.Duration {
	d := b.minOpenTimeout
	for i := 1; i < b.reopened && d < b.openTimeout; i++ {
		d *= 2
	}
	return min(d, b.openTimeout)
}

// ServerAnswered tells the breaker that the server answered since it opened:
// a reply to a call made before it opened arrived, late or not. The server
// is working again, so an open breaker ends its open time at once and lets
// its probes through, which judge it as usual: a server that is still slow
// fails them and the breaker opens again, for a longer time. In any other
// state it does nothing. It takes no lock and allocates nothing.
func (b *Breaker) ServerAnswered() {
	p := b.phase.Load()
	if p.state != StateOpen {
		return
	}
	now := int64(b.since())
	for {
		at := p.probesAt.Load()
		if at <= now || p.probesAt.CompareAndSwap(at, now) {
			return
		}
	}
}

// since is the time since epoch, on the clock of the open time.
func (b *Breaker) since() time.Duration {
	if b.clock != nil {
		return b.clock()
	}
	return time.Since(b.epoch)
}

// untilProbes is how long an open phase p still refuses every call.
func (b *Breaker) untilProbes(p *phase) time.Duration {
	return time.Duration(p.probesAt.Load()) - b.since()
}

// Allow asks to make one call. ErrOpen: refused, do not make the call.
// Otherwise make it and report its outcome with Done exactly once.
//
// While closed, and while open before its open time has passed, Allow takes no
// lock and allocates nothing.
func (b *Breaker) Allow() (Ticket, error) {
	if t, ok := b.AllowClosed(); ok {
		return t, nil
	}
	p := b.phase.Load()
	if p.state == StateOpen && b.untilProbes(p) > 0 {
		return Ticket{}, ErrOpen
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p = b.phase.Load(); p.state == StateOpen && b.untilProbes(p) > 0 {
		return Ticket{}, ErrOpen
	}
	done, err := b.cb.Allow()
	if err != nil {
		return Ticket{}, ErrOpen
	}
	return Ticket{&admission{phase: b.phase.Load(), done: done}}, nil
}

// AllowClosed is Allow's path while the breaker is closed, small enough for the
// compiler to inline into a caller's hot path: ok reports that the breaker
// was closed and t admits the call; otherwise nothing was asked, and the
// caller asks Allow.
func (b *Breaker) AllowClosed() (t Ticket, ok bool) {
	p := b.phase.Load()
	return Ticket{&p.call}, p.state == StateClosed
}

// Done reports the outcome of the call t admitted. A nil err is a success;
// another is classified by Settings.IsExcluded (not counted at all), then
// Settings.IsFailure. An outcome of a call admitted before the breaker last
// changed state is ignored (gobreaker's generation rule).
func (b *Breaker) Done(t Ticket, err error) {
	a := t.a
	if a == nil {
		return
	}
	if a.done != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		// A probe of an earlier phase is not counted, as gobreaker would
		// ignore it: but gobreaker, asked while open, would end the open time.
		if b.phase.Load() == a.phase {
			a.done(err)
		}
		return
	}
	p := a.phase
	if b.phase.Load() != p {
		return
	}
	b.count(p, err)
}

// Record counts an outcome the breaker did not admit with Allow: what a
// caller observes apart from the calls it makes, such as a server's reply
// measured on its connection. It counts only while the breaker is closed, as
// Done would; in any other state it is ignored, since a half-open breaker
// judges its probes, which Allow admits, alone. It reports whether err was
// counted. It takes no lock and allocates nothing.
func (b *Breaker) Record(err error) bool {
	p := b.phase.Load()
	if p.state != StateClosed {
		return false
	}
	b.count(p, err)
	return true
}

// Probe reports whether t admitted one of a half-open breaker's probes, whose
// outcome must reach Done: outcomes of calls admitted while closed may come
// through Record instead.
func (t Ticket) Probe() bool { return t.a != nil && t.a.done != nil }

// count counts err in the closed phase p.
func (b *Breaker) count(p *phase, err error) {
	switch {
	case err == nil: // a success whatever the classifiers: the common case, first
		p.window.success()
	case b.isExcluded(err):
		p.window.exclusion()
	case b.countsAsFailure(err):
		if b.tripsAfterFailure(p.window) {
			b.trip(p)
		}
	default:
		p.window.success()
	}
}

func (b *Breaker) countsAsFailure(err error) bool {
	return err == ErrPanicked || b.isFailure(err)
}

// tripsAfterFailure counts a failure in w and applies the rules to the window.
func (b *Breaker) tripsAfterFailure(w *window) bool {
	bucket := w.failure()
	var c Counts
	c.TotalFailures = w.failed(bucket)
	c.ConsecutiveFailures = w.consecutiveFailures(bucket, c.TotalFailures)
	// The ratio rule needs at least ratio × MinRequests failures, whatever
	// the successes: below that, summing them is work for nothing.
	if float64(c.TotalFailures) >= b.rules.ratio*float64(b.rules.minRequests) {
		c.TotalSuccesses = w.sum(succeeded, bucket)
	}
	return b.rules.trip(c)
}

// trip asks gobreaker to open, ending the closed phase p. Of all the failures
// that trip p at once, one does it.
func (b *Breaker) trip(p *phase) {
	if !p.tripping.CompareAndSwap(false, true) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.phase.Load() != p {
		return // p is over
	}
	done, err := b.cb.Allow()
	if err != nil {
		return // open already: p is over
	}
	done(tripSignal{closing: p})
}

// State returns the current state, without locking the breaker.
func (b *Breaker) State() State {
	p := b.phase.Load()
	if p.state == StateOpen && b.untilProbes(p) <= 0 {
		// gobreaker turns open into half-open lazily, on its next call.
		return StateHalfOpen
	}
	return p.state
}

// Counts returns the counters since the last change of state.
func (b *Breaker) Counts() Counts {
	if p := b.phase.Load(); p.state == StateClosed {
		return p.window.counts(p.window.bucket())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.phase.Load(); p.state == StateOpen && b.untilProbes(p) > 0 {
		return Counts{} // gobreaker's, cleared when it opened
	}
	return countsOf(b.cb.Counts())
}

// IsFailure reports whether the breaker counts err as a failure.
func (b *Breaker) IsFailure(err error) bool { return b.isFailure(err) }

// SlowCallThreshold is the server time above which a caller reports a call as
// ErrSlowCall (Settings.SlowCallThreshold, with its default).
func (b *Breaker) SlowCallThreshold() time.Duration { return b.slowCallThreshold }

// tripRules are the two rules that open a closed breaker.
type tripRules struct {
	consecutive uint32
	ratio       float64
	minRequests uint32
}

func (r tripRules) trip(c Counts) bool {
	if c.ConsecutiveFailures >= r.consecutive {
		return true
	}
	counted := c.TotalSuccesses + c.TotalFailures
	return counted >= r.minRequests && float64(c.TotalFailures) >= r.ratio*float64(counted)
}
