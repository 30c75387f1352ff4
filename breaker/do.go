package breaker

import (
	"context"

	"github.com/redisguard/redisguard/internal/circuit"
)

// Do runs fn under b. When b refuses the call (ErrOpen), or fn fails with an
// error b counts as a failure, Do returns fallback(ctx, err) instead: the answer
// from the source of truth when Redis cannot give one. Other errors of fn (a
// redis.Nil, a WRONGTYPE) are returned as they are, and so is every error when
// fallback is nil. A panic in fn counts as a failure and goes on up.
//
// Do does not time fn: fn's duration includes waits that are not the server's
// (for a pooled connection, a dial, the scheduler, other work fn does), and the
// breaker judges only the server. An fn that measures its server's time from
// the write returns an error wrapping ErrSlowCall when it passed
// b.SlowCallThreshold; Do counts that as a failure and answers from fallback.
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error),
	fallback func(context.Context, error) (T, error)) (T, error) {
	t, err := b.Allow()
	if err != nil {
		return orFallback[T](ctx, err, fallback)
	}
	panicked := true
	defer func() {
		if panicked {
			b.Done(t, circuit.ErrPanicked)
		}
	}()
	v, err := fn(ctx)
	panicked = false
	b.Done(t, err)
	if err != nil && b.IsFailure(err) {
		return orFallback[T](ctx, err, fallback)
	}
	return v, err
}

func orFallback[T any](ctx context.Context, err error, fallback func(context.Context, error) (T, error)) (T, error) {
	if fallback == nil {
		var zero T
		return zero, err
	}
	return fallback(ctx, err)
}
