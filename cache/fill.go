package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// loadMode says how a load that follows a Get's read of Redis goes on.
type loadMode uint8

const (
	// afterMiss: Redis has no fresh value: take the lease (or wait for the
	// holder's value), load, store under the lease.
	afterMiss loadMode = iota
	// afterCorrupt: take the lease whatever is there, load, store over the
	// corrupt value.
	afterCorrupt
	// afterPending: an invalidation of the key is pending: take the lease
	// whatever is there, load, and the stored value applies the invalidation.
	afterPending
	// afterFailure: Redis failed: load, store nothing (a load stores only
	// under a lease).
	afterFailure
)

// request is what a caller brings to a shared load.
type request struct {
	mode     loadMode
	result   Result // the caller's result when the loader answers
	redisErr error  // afterFailure: what failed
	seq      uint64 // afterPending: the pending entry
	stale    string // with StaleIfError: the expired value read, served if the loader fails
}

// load waits for the one load of rkey, started by this caller or another, and
// counts the caller's result.
func (c *Cache[V]) load(ctx context.Context, key, rkey string, load Loader[V], req request) (V, error) {
	var zero V
	f, started, late, afterLease := c.flights.join(rkey, func() (context.Context, context.CancelFunc) { return c.loadContext(ctx) }, c.opts.LoadTimeout)
	if started && !c.goBackground(func() { c.fill(f, key, rkey, load, req) }) {
		c.flights.leave(rkey, f)
		return zero, ErrClosed
	}
	bound := time.NewTimer(time.Until(f.bound))
	defer bound.Stop()
	if v, err, ended := c.await(ctx, key, rkey, f, bound.C, f.done, req); ended {
		return v, err
	}
	// A value not confirmed by its store under the lease goes only to the
	// callers that came before the lease was asked for: a later one may have
	// come after a write that ends the lease, and must not get an older value
	// than that write's.
	confirm := f.provisional && afterLease
	if confirm {
		if v, err, ended := c.await(ctx, key, rkey, f, bound.C, f.confirmed, req); ended {
			return v, err
		}
	}
	res := f.res
	if confirm {
		res = f.final
	}
	result := req.result
	switch {
	case res.stale:
		result = ResultStale
	case (res.fromRedis || late) && errors.Is(res.err, ErrNotFound):
		result = ResultNegativeHit
	case res.fromRedis || (late && result != ResultFallback):
		result = ResultHit // no load for this caller: as good as read from Redis
	case res.redisErr != nil && result != ResultFallback:
		result = ResultFallback
		c.onFallback(key, res.redisErr)
	}
	switch {
	case res.err == nil:
		v, err := c.share(f, res)
		if err != nil {
			c.observe(ResultLoadError)
			return zero, fmt.Errorf("cache: clone %q: %w", key, err)
		}
		c.observe(result)
		return v, nil
	case errors.Is(res.err, ErrNotFound):
		c.observe(result)
		return zero, res.err
	default:
		c.observe(ResultLoadError)
		return zero, res.err
	}
}

// await waits for ch, the end of a shared load or the confirmation of its
// value. ended is true, with the caller's answer, when the caller's context
// or the load's bound (LoadTimeout) came first.
func (c *Cache[V]) await(ctx context.Context, key, rkey string, f *flight[V], bound <-chan time.Time, ch <-chan struct{}, req request) (v V, err error, ended bool) {
	select {
	case <-ch:
		return v, nil, false
	case <-ctx.Done():
		c.flights.leave(rkey, f)
		return v, ctx.Err(), true
	case <-bound:
		c.flights.leave(rkey, f)
		if sv, ok := c.staleValue(req.stale); ok {
			c.observe(ResultStale)
			return sv, nil, true
		}
		c.observe(ResultLoadError)
		return v, fmt.Errorf("%w: %q not loaded within %v: %w", ErrLoadTimeout, key, c.opts.LoadTimeout, context.DeadlineExceeded), true
	}
}

// share returns the value of res to one caller of f: the value itself to the
// first, a copy of its pristine copy to the others when Options.Clone is set
// (the first may be changing its value meanwhile).
func (c *Cache[V]) share(f *flight[V], res outcome[V]) (out V, err error) {
	if c.clone == nil || f.takers.Add(1) == 1 {
		return res.v, nil
	}
	if res.cloneErr != nil {
		return out, res.cloneErr
	}
	defer recoverAs(ErrCodecPanic, &err)
	return c.clone(res.pristine), nil
}

// prepare makes the pristine copy of a value about to be shared, when
// Options.Clone is set.
func (c *Cache[V]) prepare(res outcome[V]) outcome[V] {
	if c.clone == nil || res.err != nil {
		return res
	}
	func() {
		defer recoverAs(ErrCodecPanic, &res.cloneErr)
		res.pristine = c.clone(res.v)
	}()
	return res
}

// deliver hands res, prepared, to the callers of f (see flights.deliver).
func (c *Cache[V]) deliver(rkey string, f *flight[V], res outcome[V], provisional bool) {
	c.flights.deliver(rkey, f, c.prepare(res), provisional)
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

// fill runs one shared load: find the value another instance stored, or take
// the lease (waiting for the holder's value while another load holds it),
// call the loader, store the value under the lease and hand it to the
// waiters. A load whose lease a write ended stores nothing, and its waiters
// get the value that write left, or the source's answer loaded once more.
func (c *Cache[V]) fill(f *flight[V], key, rkey string, load Loader[V], req request) {
	defer c.flights.finish(rkey, f)
	defer f.cancel()
	for attempt := 0; ; attempt++ {
		var l *lease
		var leaseRTT time.Duration
		redisErr := req.redisErr
		if req.mode != afterFailure {
			start := time.Now()
			found, value, got, err := c.acquire(f, rkey, req, attempt > 0)
			leaseRTT = time.Since(start)
			switch {
			case err != nil:
				redisErr = err
			case found:
				if c.deliverFound(f, key, rkey, value) {
					return
				}
			default:
				l = got
				if l.own {
					defer c.endWithLoad(f, rkey, l.token)()
				}
			}
		}
		if req.mode == afterFailure {
			// Redis failed: no lease, no store, and nothing to confirm the value
			// by. The callers that came after the loader started may have come
			// after a write in another instance: they get a second load.
			f.leaseSent.CompareAndSwap(0, time.Now().UnixNano())
		}
		res, data, px := c.runLoader(f, key, load, req)
		res.redisErr = redisErr
		// A loader's error goes to the callers that waited for it and to no
		// one after: the flight leaves the group as it delivers.
		failed := res.err != nil && !errors.Is(res.err, ErrNotFound)
		if req.mode == afterFailure {
			c.deliver(rkey, f, res, !failed)
			if !failed && c.flights.settle(rkey, f, false) {
				again, _, _ := c.runLoader(f, key, load, req)
				again.redisErr = redisErr
				f.confirm(c.prepare(again))
			}
			return
		}
		store := l != nil && data != nil && !f.superseded.Load()
		stored := false
		if store && (c.opts.Timeout < 0 || leaseRTT < c.opts.Timeout/4) {
			// Redis answers quickly: store before answering, so that the value
			// is in Redis when Get returns.
			sctx, cancel := context.WithTimeout(c.bg, c.storeBudget())
			c.flights.closeJoins(rkey, f)
			ok, err := c.storeLeased(sctx, rkey, data, px, *l)
			cancel()
			if err == nil && !ok && attempt == 0 && f.ctx.Err() == nil {
				// A write came since the lease was taken: what was loaded may be
				// older. End the lease (a write that set the value left it) and
				// find what the write left, or load once more.
				sctx, cancel := context.WithTimeout(c.bg, c.storeBudget())
				c.releaseLease(sctx, rkey, l.token)
				cancel()
				continue
			}
			store, stored = false, ok
			c.stored(rkey, req, ok)
		}
		// Answer the callers that came before the lease was asked for; the
		// others get the value once its store confirmed it, or a second load.
		provisional := !stored && !failed
		c.deliver(rkey, f, res, provisional)
		if stored {
			return
		}
		sctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
		switch {
		case store:
			c.flights.closeJoins(rkey, f)
			stored, _ = c.storeLeased(sctx, rkey, data, px, *l)
			c.stored(rkey, req, stored)
		case l != nil && l.own:
			c.releaseLease(sctx, rkey, l.token)
		}
		cancel()
		if provisional && c.flights.settle(rkey, f, stored) {
			again, _, _ := c.runLoader(f, key, load, req)
			f.confirm(c.prepare(again))
		}
		return
	}
}

// endWithLoad ends the load's lease when the load's context ends before the
// load does (LoadTimeout, every caller gone, Close): a hung loader holds its
// key no longer than its callers wait, and what it loads late is not stored.
// The returned func, deferred, stops this when the load ends first.
func (c *Cache[V]) endWithLoad(f *flight[V], rkey, token string) (stop func()) {
	stopFn := context.AfterFunc(f.ctx, func() {
		c.goBackground(func() {
			ctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
			defer cancel()
			c.releaseLease(ctx, rkey, token)
		})
	})
	return func() { stopFn() }
}

// acquire finds rkey's fresh value or takes its lease. While another load
// holds the lease it waits for that load's value (unless DisableFillLock):
// it polls Redis, each poll within one budget, until the value is there, the
// lease is free to take (the holder ended it without a value, or died and it
// expired), or the load's context ends. Without waiting, it stores under the
// holder's lease. again asks Redis only for the value or the lease, never
// the corrupt or pending value the first attempt had to replace.
func (c *Cache[V]) acquire(f *flight[V], rkey string, req request, again bool) (found bool, value string, l *lease, err error) {
	token := newToken()
	skipRead := !again && (req.mode == afterCorrupt || req.mode == afterPending)
	wait := 2 * time.Millisecond
	for {
		f.leaseSent.CompareAndSwap(0, time.Now().UnixNano())
		state, s, err := c.leaseStep(f.ctx, rkey, token, skipRead)
		switch {
		case err != nil:
			return false, "", nil, err
		case state == leaseValue:
			return true, s, nil, nil
		case state == leaseOwn:
			return false, "", &lease{token: token, own: true}, nil
		case c.opts.DisableFillLock:
			return false, "", &lease{token: s}, nil
		}
		if !sleep(f.ctx, wait) {
			return false, "", nil, f.ctx.Err()
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// deliverFound hands a value another load stored to the waiters. It reports
// false for a corrupt value, which the caller loads over.
func (c *Cache[V]) deliverFound(f *flight[V], key, rkey string, s string) bool {
	v, kind, _, derr := c.decodeStored(s)
	switch {
	case kind == kindValue:
		c.deliver(rkey, f, outcome[V]{v: v, fromRedis: true}, false)
	case kind == kindNotFound:
		c.deliver(rkey, f, outcome[V]{err: ErrNotFound, fromRedis: true}, false)
	case errors.Is(derr, ErrCodecPanic):
		c.deliver(rkey, f, outcome[V]{err: fmt.Errorf("cache: decode %q: %w", key, derr)}, false)
	default:
		return false
	}
	return true
}

// runLoader calls the loader of a shared load and returns its outcome and
// what to store: data for px, or nil for nothing. A failure with a stale
// value at hand (StaleIfError) answers the stale value.
func (c *Cache[V]) runLoader(f *flight[V], key string, load Loader[V], req request) (res outcome[V], data []byte, px time.Duration) {
	start := time.Now()
	v, err := callLoader(f.ctx, key, load)
	delta := time.Since(start)
	switch {
	case errors.Is(err, ErrNotFound):
		res.err = err
		if c.opts.NegativeTTL > 0 {
			data, px = []byte(tombstone), c.opts.NegativeTTL
		}
	case err != nil:
		if f.ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%w: %q after %v: %w", ErrLoadTimeout, key, c.opts.LoadTimeout, err)
		}
		res.err = err
		if sv, ok := c.staleValue(req.stale); ok {
			res = outcome[V]{v: sv, stale: true}
		}
	default:
		ttl := c.jittered(c.opts.TTL)
		var encErr error
		data, encErr = c.encodeStored(v, ttl, delta)
		if errors.Is(encErr, ErrCodecPanic) {
			res.err = fmt.Errorf("cache: encode %q: %w", key, encErr)
		} else {
			res.v = v
			px = ttl + c.opts.StaleIfError
		}
	}
	return res, data, px
}

// storeBudget bounds a store made before answering: the budget, or
// storeTimeout without one.
func (c *Cache[V]) storeBudget() time.Duration {
	if c.opts.Timeout < 0 {
		return c.storeTimeout()
	}
	return c.opts.Timeout
}

// storeFirst reports whether GetMany, whose loads started at start, stores
// its values before answering: when at least half of the caller's budget is
// left (the load's own time does not count) and twice the round trip of the
// caller's read, or when there is no budget. Otherwise it answers first and
// stores in the background, so that a slow Redis does not keep a caller past
// its budget.
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
func (c *Cache[V]) stored(rkey string, req request, ok bool) {
	if ok && req.mode == afterPending && c.pending.remove(rkey, req.seq) {
		c.observe(ResultInvalidationApplied)
	}
}
