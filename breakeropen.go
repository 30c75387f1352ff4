package redisguard

import (
	"github.com/redisguard/redisguard/breaker"
)

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
