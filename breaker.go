package redisguard

import (
	"context"
	"errors"
	"os"

	"github.com/redisguard/redisguard/breaker"
)

// errNotCounted is the outcome the client reports to its breaker for a command
// that says nothing about the server's health, so that it is counted neither as
// a success nor as a failure: its caller gave up, or its connection could not be
// opened or broke, which the supervisor handles (a killed server must not leave
// the breaker open once the supervisor has reconnected). A timeout always
// counts, even against the caller's own deadline, and so does that deadline
// passing while the command ran: the server was too slow for the caller's
// budget, which is what the breaker is for.
var errNotCounted = errors.New("redisguard: not counted by the breaker")

// newBreaker builds the client's breaker, reporting its changes through ev.
func newBreaker(s breaker.Settings, ev *events) (*breaker.Breaker, []error) {
	isExcluded := s.IsExcluded
	if isExcluded == nil {
		isExcluded = breaker.IsExcluded
	}
	s.IsExcluded = func(err error) bool { return err == errNotCounted || isExcluded(err) }
	onChange := s.OnStateChange
	s.OnStateChange = func(from, to breaker.State) {
		if onChange != nil {
			onChange(from, to)
		}
		ev.breakerStateChange(from, to)
	}
	b, err := breaker.New(s)
	if err != nil {
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
	return b, nil
}

// unjoin returns the errors an errors.Join result holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// allow is admission step 4. done is nil when the breaker is off. A caller whose
// context has already ended is turned away first: its command could only fail,
// and a deadline that passes later, while the command runs, then reliably means
// a server too slow for the caller's budget.
func (c *Client) allow(ctx context.Context) (done func(error), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.breaker == nil {
		return nil, nil
	}
	return c.breaker.Allow()
}

// count reports a command's final outcome to the breaker.
func (c *Client) count(ctx context.Context, done func(error), err error) {
	if done == nil {
		return
	}
	switch {
	case err == nil, isTimeout(err):
	case errors.Is(err, context.DeadlineExceeded):
		// The deadline passed while the command waited (for a connection, or in
		// the dial): as slow as a socket timeout, and counted as one.
		err = os.ErrDeadlineExceeded
	default:
		if out := classifyErr(err); out == outcomeNotSent || out == outcomeDropped || callerGaveUp(ctx) {
			err = errNotCounted
		}
	}
	done(err)
}
