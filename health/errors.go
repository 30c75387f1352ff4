package health

import (
	"errors"
	"fmt"
	"time"

	"github.com/redisguard/redisguard"
)

// ErrNoClient is the error of NewHandler, NewReadiness and NewLiveness, and
// of a Check, given no client: nil, or a nil pointer such as a
// (*redis.Client)(nil) inside the interface. Handler, Readiness and Liveness
// given one answer every request with 500 and this error's text.
var ErrNoClient = errors.New("health: no Redis client")

// noClient is ErrNoClient for a nil client received by fn, naming the type
// of the nil pointer so that the mistake can be found.
func noClient(fn string, rdb any) error {
	if rdb == nil {
		return fmt.Errorf("%w: %s got nil", ErrNoClient, fn)
	}
	return fmt.Errorf("%w: %s got a nil %T", ErrNoClient, fn, rdb)
}

// pingPanicError is a PING that panicked instead of returning: a client
// that is not nil but broken (a zero redis.Client{}, a faulty
// implementation of redis.UniversalClient). It holds the panic's value.
type pingPanicError struct{ value any }

func (e *pingPanicError) Error() string {
	return fmt.Sprintf("health: PING panicked: %v", e.value)
}

// notReadyError is why a *redisguard.Client, or one of its servers, that is
// connecting or reconnecting was not sent a PING. It wraps
// redisguard.ErrNotReady and, when there is one, the last connection error,
// which says why the client cannot connect.
type notReadyError struct {
	state redisguard.State
	cause error // the last connection error, or nil
}

func (e *notReadyError) Error() string {
	msg := fmt.Sprintf("%v (%v)", redisguard.ErrNotReady, e.state)
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *notReadyError) Unwrap() []error {
	if e.cause == nil {
		return []error{redisguard.ErrNotReady}
	}
	return []error{redisguard.ErrNotReady, e.cause}
}

// noNodeAnsweredError is a cluster client that is ready, none of whose
// nodes answered the check's PING. It wraps each node's failure, named by
// the node's address.
type noNodeAnsweredError struct{ errs []error }

func (e *noNodeAnsweredError) Error() string {
	msg := "no node of the cluster answered"
	if err := errors.Join(e.errs...); err != nil {
		msg += ": " + err.Error()
	}
	return msg
}

func (e *noNodeAnsweredError) Unwrap() []error { return e.errs }

// timeoutError is a PING that got no answer within after. It wraps the
// client's error (context.DeadlineExceeded or a network timeout).
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("PING: no answer within %v: %v", e.after, e.err)
}

func (e *timeoutError) Unwrap() error { return e.err }
