package health

import (
	"errors"
	"fmt"
	"time"

	"github.com/redisguard/redisguard"
)

// errNoClient is the failure of a check given a nil client.
var errNoClient = errors.New("health: no Redis client")

// notReadyError is why a *redisguard.Client that is connecting or
// reconnecting was not sent a PING. It wraps redisguard.ErrNotReady.
type notReadyError struct{ state redisguard.State }

func (e *notReadyError) Error() string {
	return fmt.Sprintf("%v (%v)", redisguard.ErrNotReady, e.state)
}

func (e *notReadyError) Unwrap() error { return redisguard.ErrNotReady }

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
