package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// loadMode says how a load that follows a Get's read of Redis goes on.
type loadMode uint8

const (
	// afterMiss: Redis has no value: take the fill lock (or read once more),
	// load, store.
	afterMiss loadMode = iota
	// afterCorrupt: load and store over the corrupt value.
	afterCorrupt
	// afterPending: an invalidation of the key is pending: load, store, and
	// the stored value applies the invalidation.
	afterPending
	// afterFailure: Redis failed: load, and store only when Redis was slow
	// rather than unreachable.
	afterFailure
)

// request is what a caller brings to a shared load.
type request struct {
	mode     loadMode
	result   Result        // the caller's result when the loader answers
	deadline time.Time     // when the caller's Redis budget ends (zero: none)
	rtt      time.Duration // how long the caller's read of Redis took
	redisErr error         // afterFailure: what failed
	seq      uint64        // afterPending: the pending entry
}

// load waits for the one load of rkey, started by this caller or another, and
// counts the caller's result.
func (c *Cache[V]) load(ctx context.Context, key, rkey string, load Loader[V], req request) (V, error) {
	var zero V
	f, started, late := c.flights.join(rkey, func() (context.Context, context.CancelFunc) { return c.loadContext(ctx) }, c.opts.LoadTimeout)
	if started && !c.goBackground(func() { c.fill(f, key, rkey, load, req) }) {
		c.flights.leave(rkey, f)
		return zero, ErrClosed
	}
	bound := time.NewTimer(time.Until(f.bound))
	defer bound.Stop()
	select {
	case <-f.done:
	case <-ctx.Done():
		c.flights.leave(rkey, f)
		return zero, ctx.Err()
	case <-bound.C:
		c.flights.leave(rkey, f)
		c.observe(ResultLoadError)
		return zero, fmt.Errorf("%w: %q not loaded within %v: %w", ErrLoadTimeout, key, c.opts.LoadTimeout, context.DeadlineExceeded)
	}
	res := f.res
	result := req.result
	switch {
	case (res.fromRedis || late) && errors.Is(res.err, ErrNotFound):
		result = ResultNegativeHit
	case res.fromRedis || (late && result != ResultFallback):
		result = ResultHit // no load for this caller: as good as read from Redis
	case res.redisErr != nil && result != ResultFallback:
		result = ResultFallback
		c.onFallback(key, res.redisErr)
	}
	switch {
	case res.err == nil || errors.Is(res.err, ErrNotFound):
		c.observe(result)
		return res.v, res.err
	default:
		c.observe(ResultLoadError)
		return zero, res.err
	}
}

// loadContext is the context of a shared load: the values of the caller that
// started it, ended by LoadTimeout, by the last caller leaving, or by Close.
func (c *Cache[V]) loadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.LoadTimeout)
	stop := context.AfterFunc(c.bg, cancel)
	return lctx, func() {
		stop()
		cancel()
	}
}

// fill runs one shared load: find the value another instance stored or take
// the fill lock, call the loader, hand the value to the waiters, then store it
// (or a not-found) and release the lock.
func (c *Cache[V]) fill(f *flight[V], key, rkey string, load Loader[V], req request) {
	defer c.flights.finish(rkey, f)
	defer f.cancel()
	var res outcome[V]
	store := true
	token := ""
	switch req.mode {
	case afterFailure:
		res.redisErr = req.redisErr
		store = isTimeout(req.redisErr)
	case afterMiss:
		rctx, cancel := untilDeadline(f.ctx, req.deadline)
		s, found, err := c.findOrLock(rctx, rkey, req, &token)
		cancel()
		switch {
		case err != nil:
			res.redisErr = err
			store = isTimeout(err)
		case found:
			v, kind, _, derr := c.decodeStored(s)
			switch {
			case kind == kindValue:
				c.flights.deliver(rkey, f, outcome[V]{v: v, fromRedis: true}, false)
				return
			case kind == kindNotFound:
				c.flights.deliver(rkey, f, outcome[V]{err: ErrNotFound, fromRedis: true}, false)
				return
			case errors.Is(derr, ErrCodecPanic):
				c.flights.deliver(rkey, f, outcome[V]{err: fmt.Errorf("cache: decode %q: %w", key, derr)}, false)
				return
			}
			// Corrupt: the load below stores over it.
		}
	}

	start := time.Now()
	v, err := callLoader(f.ctx, key, load)
	delta := time.Since(start)
	var data []byte
	var ttl time.Duration
	switch {
	case errors.Is(err, ErrNotFound):
		res.err = err
		if c.opts.NegativeTTL > 0 {
			data, ttl = []byte(tombstone), c.opts.NegativeTTL
		}
	case err != nil:
		if f.ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%w: %q after %v: %w", ErrLoadTimeout, key, c.opts.LoadTimeout, err)
		}
		res.err = err
	default:
		ttl = c.jittered(c.opts.TTL)
		var encErr error
		data, encErr = c.encodeStored(v, ttl, delta)
		if errors.Is(encErr, ErrCodecPanic) {
			res.err = fmt.Errorf("cache: encode %q: %w", key, encErr)
		} else {
			res.v = v
		}
	}
	store = store && data != nil && !f.superseded.Load()
	if store && c.storeFirst(req.deadline, start, req.rtt) {
		// Enough of the caller's budget is left: store before answering, so
		// that the value is in Redis when Get returns.
		sctx, cancel := context.WithTimeout(c.bg, c.remainingBudget(req.deadline, start))
		err := c.storeAndRelease(sctx, rkey, data, ttl, token)
		cancel()
		c.flights.deliver(rkey, f, res, false)
		c.stored(rkey, req, err)
		return
	}
	c.flights.deliver(rkey, f, res, store)

	sctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
	defer cancel()
	if !store {
		if token != "" {
			c.releaseLock(sctx, rkey, token)
		}
		return
	}
	c.stored(rkey, req, c.storeAndRelease(sctx, rkey, data, ttl, token))
}

// storeFirst reports whether a load that started at start stores its value
// before answering: when at least half of the caller's budget is left (the
// load's own time does not count) and twice the round trip of the caller's
// read, or when there is no budget. Otherwise it answers first and stores in
// the background, so that a slow Redis does not keep a caller past its
// budget.
func (c *Cache[V]) storeFirst(deadline, start time.Time, rtt time.Duration) bool {
	return c.opts.Timeout < 0 || deadline.Sub(start) > max(c.opts.Timeout/2, 2*rtt)
}

// remainingBudget is what was left of the caller's budget when the load
// started.
func (c *Cache[V]) remainingBudget(deadline, start time.Time) time.Duration {
	if c.opts.Timeout < 0 || deadline.IsZero() {
		return c.storeTimeout()
	}
	return deadline.Sub(start)
}

// stored records the outcome of the store of a load.
func (c *Cache[V]) stored(rkey string, req request, err error) {
	if err == nil && req.mode == afterPending && c.pending.remove(rkey, req.seq) {
		c.observe(ResultInvalidationApplied)
	}
}

// findOrLock looks for a value another instance stored since the caller's
// read, within the caller's budget. With the fill lock, it takes the lock, or
// waits for the holder's value until the budget ends; the caller then loads.
// When what is left of the budget would not fit another round trip as long
// as the caller's read, it does nothing: a read cut short by its deadline
// costs its connection, and the next read a new one.
func (c *Cache[V]) findOrLock(ctx context.Context, rkey string, req request, token *string) (string, bool, error) {
	deadline := req.deadline
	if !deadline.IsZero() && time.Until(deadline) < req.rtt {
		return "", false, nil
	}
	if c.opts.DisableFillLock {
		s, err := c.rdb.Get(ctx, rkey).Result()
		switch {
		case err == redis.Nil:
			return "", false, nil
		case err != nil:
			return "", false, err
		}
		return s, true, nil
	}
	tok := newToken()
	s, found, won, err := c.lockStep(ctx, rkey, tok)
	switch {
	case err != nil || found:
		return s, found, err
	case won:
		*token = tok
		return "", false, nil
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(c.opts.FillLockTTL)
	}
	return c.awaitFill(ctx, rkey, deadline, req.rtt)
}
