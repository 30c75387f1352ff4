package circuit

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/internal/outcome"
)

// ErrSlowCall is the outcome to report for a call the server took longer than
// SlowCallThreshold to answer (whether it then answered, or its caller gave
// up). IsFailure is true for it and for any error wrapping it.
//
// The breaker measures nothing itself. The caller measures the server's time
// from the moment the request was written to the connection, so that waiting
// for a pooled connection, dialing, and the caller's own scheduling never
// count; and it reports the call with Done once it ended: ErrSlowCall when
// that time passed Breaker.SlowCallThreshold, else the call's own outcome. A
// caller that gave up (its context ended) after the threshold reports an error
// wrapping both, e.g. fmt.Errorf("%w: %w", ErrSlowCall, ctx.Err()): IsExcluded
// is false for it, so it counts. One that gave up before the threshold
// reports its context's error, which is not counted.
var ErrSlowCall = errors.New("breaker: slow call")

// IsFailure is the default classifier: it reports whether err means that Redis
// is unreachable, unable to serve or too slow (ErrSlowCall), as opposed to a
// reply showing it works (redis.Nil, WRONGTYPE, a syntax error, NOSCRIPT, OOM)
// or the caller's own context ending. Its answers are the DefaultFailure
// column of the outcome table that a redisguard.Client reads too; see the
// package documentation for the table.
func IsFailure(err error) bool {
	if err == nil || err == redis.Nil {
		return false
	}
	if errors.Is(err, ErrSlowCall) {
		return true
	}
	if IsExcluded(err) || errors.Is(err, ErrOpen) {
		return false
	}
	return outcome.Of(classifier.Kind(err), outcome.Command).DefaultFailure
}

// classifier sorts errors for IsFailure: it knows go-redis's and the
// standard library's errors only.
var classifier outcome.Table

// IsExcluded is the default exclusion rule: the caller's context ended, so the
// call says nothing about Redis and is counted neither as a success nor as a
// failure; unless the server had already been slower than the threshold
// (ErrSlowCall), which counts.
func IsExcluded(err error) bool {
	if err == nil || errors.Is(err, ErrSlowCall) {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ErrPanicked is the outcome breaker.Do reports for a function that panicked.
var ErrPanicked = errors.New("breaker: the call panicked")
