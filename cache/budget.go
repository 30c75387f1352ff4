package cache

import (
	"context"
	"sync/atomic"
	"time"
)

// budgetClock hands out the shared deadlines of the Gets of one Cache: every
// Get that starts within the same granule (a twentieth of the budget, at
// least a millisecond) shares one deadline, and so one context and one timer,
// which is what keeps a hit from allocating for its budget. A budget is thus
// rounded up by 5 % at most.
type budgetClock struct {
	current atomic.Pointer[budgetTick]
}

func granule(d time.Duration) time.Duration { return max(time.Millisecond, d/20) }

// budgetTick is one shared deadline: a context that ends then.
type budgetTick struct {
	context.Context
	cancel   context.CancelFunc // kept so the timer's resources are owned; the deadline fires it
	deadline time.Time
}

// tick returns a shared context ending between d and d + granule(d) after now.
func (c *budgetClock) tick(now time.Time, d time.Duration) *budgetTick {
	want := now.Add(d)
	g := granule(d)
	if t := c.current.Load(); t != nil {
		if lead := t.deadline.Sub(want); lead >= 0 && lead <= g {
			return t
		}
	}
	deadline := want.Add(g)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t := &budgetTick{Context: ctx, cancel: cancel, deadline: deadline}
	c.current.Store(t)
	return t
}

// budgetCtx is a caller's context with a shared budget deadline: values come
// from the caller, the deadline and cancellation from the budget. The
// caller's cancellation does not reach the Redis operation, which ends by the
// budget at the latest; the caller's own deadline does, when it is earlier
// (see Cache.budget).
type budgetCtx struct {
	*budgetTick
	values context.Context
}

func (b *budgetCtx) Value(key any) any { return b.values.Value(key) }

// budget returns the context for the Redis operations of one call and the
// time they must end by: the caller's own context when its deadline comes
// first or the budget is off, the shared budget deadline otherwise.
func (c *Cache[V]) budget(ctx context.Context) (context.Context, time.Time) {
	return c.budgetAt(ctx, time.Now())
}

// budgetAt is budget for a call that started at now.
func (c *Cache[V]) budgetAt(ctx context.Context, now time.Time) (context.Context, time.Time) {
	if c.opts.Timeout < 0 {
		d, _ := ctx.Deadline()
		return ctx, d
	}
	if d, ok := ctx.Deadline(); ok && d.Sub(now) <= c.opts.Timeout {
		return ctx, d
	}
	t := c.clock.tick(now, c.opts.Timeout)
	if ctx == context.Background() || ctx == context.TODO() {
		return t, t.deadline
	}
	return &budgetCtx{budgetTick: t, values: ctx}, t.deadline
}
