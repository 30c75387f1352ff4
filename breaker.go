package redisguard

import (
	"errors"
	"fmt"
	"time"

	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/outcome"
)

// breakerSettings validates the breaker settings of the options and returns
// the settings every node's breaker is built from: the caller's, with the
// outcomes the client does not count excluded.
func breakerSettings(s breaker.Settings) (*breaker.Settings, []error) {
	isExcluded := s.IsExcluded
	if isExcluded == nil {
		isExcluded = breaker.IsExcluded
	}
	s.IsExcluded = func(err error) bool { return err == errNotCounted || isExcluded(err) }
	if _, err := breaker.New(s); err != nil {
		var errs []error
		for _, e := range unjoin(err) {
			var se *breaker.SettingsError
			if errors.As(e, &se) {
				e = optionErrorf("Breaker."+se.Field, "%s", se.Reason)
			}
			errs = append(errs, e)
		}
		return nil, errs
	}
	return &s, nil
}

// circuitSettings returns s as the settings of the state machine every
// node's breaker is, as breaker.New turns them over.
func circuitSettings(s breaker.Settings) circuit.Settings {
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
		c.OnStateChange = func(from, to circuit.State) { on(breaker.State(from), breaker.State(to)) }
	}
	return c
}

// unjoin returns the errors an errors.Join result holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// minDerivedSlowCall is the least threshold a read timeout makes: a server
// that answers within it is not sick, however short the read timeout.
const minDerivedSlowCall = 10 * time.Millisecond

// slowCallThreshold is the threshold of a node's breaker: the one set, or the
// smaller of the default and the node's read timeout (a reply slower than the
// read timeout is one the application chose not to wait for), but no less
// than minDerivedSlowCall.
func slowCallThreshold(set, readTimeout time.Duration) time.Duration {
	if set > 0 {
		return set
	}
	if readTimeout > 0 {
		return max(min(breaker.DefaultSlowCallThreshold, readTimeout), minDerivedSlowCall)
	}
	return breaker.DefaultSlowCallThreshold
}

// writtenBeforeOpening reports whether the request whose write recorded
// stamp on the node's reply clock was written before the node's breaker last
// opened from closed. (A write in the same period of the clock as the
// opening is taken for a later one.)
func (n *node) writtenBeforeOpening(stamp uint64) bool {
	return stamp < n.openedAt.Load()
}

// answered hears a reply within the slow-call threshold to the request whose
// write recorded stamp. When it came quickly, before the reply clock's next
// event (within an eighth of the threshold), to a request written before
// the breaker opened, and the breaker is open still, the server has answered
// since, in time, and the breaker lets its probes through at once instead of
// waiting out its open time; the probes then judge the server as it is now.
// (A reply near the threshold says nothing of the kind, nor does a slow one:
// the breaker's open time, short at first, waits for the probes.)
func (n *node) answered(b *circuit.Breaker, stamp uint64) {
	if b.State() == circuit.StateOpen && n.writtenBeforeOpening(stamp) && n.replies.Quick(stamp) {
		b.ServerAnswered()
	}
}

// probeAnswered hears a reconnect attempt that succeeded, in took, after
// the server had gone (its connections refused or closed): whatever answers
// now is another process, maybe in another role (an old master back as a
// replica). One that answered within the slow-call threshold is judged
// afresh, by a closed breaker. The one that judged the server before, left
// open or half-open, would wait for probes that may never come (a replica
// gets no commands) and refuse the first commands of a server that answers.
// (A server lost to slowness keeps its breaker: its probes judge it.)
func (n *node) probeAnswered(took time.Duration) {
	b := n.breaker.Load()
	if b == nil || took >= b.SlowCallThreshold() {
		return
	}
	from := b.State()
	if from == circuit.StateClosed {
		return
	}
	n.newBreaker()
	n.slowReplies.Store(0)
	n.probePasses.Store(0)
	if onChange := n.c.cfg.breaker.OnStateChange; onChange != nil {
		onChange(breaker.State(from), breaker.StateClosed)
	}
	n.c.events.breakerStateChange(n.address(), breaker.State(from), breaker.StateClosed)
}

// serverGone reports whether err shows the server gone rather than slow: a
// connection refused, reset or closed by it.
func serverGone(err error) bool {
	return outcome.Of(kindOf(err), outcome.Command).Gone
}

// BreakerStatus is what a server's circuit breaker showed at one moment: a
// copy, which the breaker does not change afterwards.
type BreakerStatus struct {
	State  breaker.State
	Counts breaker.Counts // since Since (see breaker.Breaker.Counts)
	// Since is when the breaker entered State, or, half-open once its open
	// time passed, when it opened.
	Since time.Time
	// LastFailure is the last failure it counted before it last opened,
	// without secrets; nil while closed, or when it opened without one noted.
	LastFailure error
}

// breakerStatus returns the status of the node's breaker, and whether it has
// one.
func (n *node) breakerStatus() (BreakerStatus, bool) {
	b := n.breaker.Load()
	if b == nil {
		return BreakerStatus{}, false
	}
	s := BreakerStatus{
		State:  breaker.State(b.State()),
		Counts: breaker.Counts(b.Counts()),
		Since:  time.Unix(0, n.breakerSince.Load()),
	}
	if e := n.openRefusal.Load(); e != nil && s.State != breaker.StateClosed {
		s.LastFailure = e.cause
	}
	return s, true
}

// openError is what a command gets while its server's breaker is open: it
// names the server and the last failure the breaker counted before it opened.
// errors.Is(err, breaker.ErrOpen) holds; the failure is in the message only,
// so that a refusal is never taken for the timeout or reset that caused it.
type openError struct {
	addr  string
	cause error // redacted; nil when the breaker opened without one noted
}

func (e *openError) Error() string {
	msg := "redisguard: " + e.addr + ": " + breaker.ErrOpen.Error()
	if e.cause != nil {
		msg += " (last failure: " + e.cause.Error() + ")"
	}
	return msg
}

func (e *openError) Unwrap() error { return breaker.ErrOpen }

// watchFailures makes the node note each outcome its breaker counts as a
// failure, so that the refusal built when the breaker opens can name it.
func (n *node) watchFailures(s *breaker.Settings) {
	isFailure := s.IsFailure
	if isFailure == nil {
		isFailure = breaker.IsFailure
	}
	s.IsFailure = func(err error) bool {
		if !isFailure(err) {
			return false
		}
		n.lastFailure.Store(&err)
		return true
	}
}

// breakerOpened builds the refusal of the breaker that just opened, once, so
// that refusing allocates nothing.
func (n *node) breakerOpened(addr string) {
	e := &openError{addr: addr}
	if last := n.lastFailure.Load(); last != nil {
		e.cause = n.c.redactErr(*last)
	}
	n.openRefusal.Store(e)
}

// openErr returns the error for a command the node's breaker refused.
func (n *node) openErr() error {
	if e := n.openRefusal.Load(); e != nil {
		return e
	}
	return breaker.ErrOpen
}

// newBreaker gives the node a fresh, closed breaker: at creation, and when a
// Sentinel master moves to another server, which is a new server to judge.
func (n *node) newBreaker() {
	if n.c.cfg.breaker == nil {
		return
	}
	s := *n.c.cfg.breaker
	s.SlowCallThreshold = slowCallThreshold(s.SlowCallThreshold, n.judgeLimit)
	onChange := s.OnStateChange
	addr := n.address() // a breaker judges one server: a moved master gets another
	n.watchFailures(&s)
	s.OnStateChange = func(from, to breaker.State) {
		n.breakerSince.Store(time.Now().UnixNano())
		if to == breaker.StateOpen {
			n.breakerOpened(addr)
		}
		n.slowReplies.Store(0) // measured before the change: judged already
		if from == breaker.StateClosed && n.replies != nil {
			n.openedAt.Store(n.replies.Seq())
		}
		n.probePasses.Store(0)
		if onChange != nil {
			onChange(from, to)
		}
		n.c.events.breakerStateChange(addr, from, to)
	}
	b, err := circuit.New(circuitSettings(s)) // validated by Options.config already
	if err != nil {
		panic(fmt.Sprintf("redisguard: breaker settings validated but rejected: %v", err))
	}
	n.breakerSince.Store(time.Now().UnixNano())
	if old := n.breaker.Swap(b); old != nil {
		old.Retire() // its connections' tallies count in b from now on
	}
}
