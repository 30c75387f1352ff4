package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Loader reads one record from the source of truth, or returns ErrNotFound.
type Loader[V any] func(ctx context.Context, key string) (V, error)

// Cache is a cache-aside view of values of type V in Redis. It is safe for
// concurrent use.
type Cache[V any] struct {
	rdb   redis.UniversalClient
	opts  Options
	codec codec[V]
	near  *Near
	tier  *nearTier[V] // nil without a Near

	clock      budgetClock
	flights    flights[V]
	refreshing refreshes
	pending    pendingSet
	counts     counters

	// bg is the context of the background work (shared loads, early
	// refreshes, stores after a load, the retry of pending invalidations);
	// Close cancels it and waits for the work.
	bg             context.Context
	stopBackground context.CancelFunc
	bgMu           sync.Mutex // orders goBackground and Close
	background     sync.WaitGroup
	closed         atomic.Bool
	closeOnce      sync.Once
}

// New returns a Cache over rdb, a *redisguard.Client or any go-redis client.
// Every bad option is an error wrapping ErrInvalidOptions that names the
// field; a nil client, typed or not, is one too.
func New[V any](rdb redis.UniversalClient, opts Options) (*Cache[V], error) {
	var errs optionErrors
	if rdb == nil || isNilInterface(rdb) {
		errs.add("rdb", "(the Redis client) is a nil %T: pass a *redisguard.Client or a go-redis client", rdb)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 && opts.Near != nil {
		if err := checkNearClient(rdb, opts.Near); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Cache[V]{rdb: rdb, opts: opts, codec: codecFor[V](opts.Codec), near: opts.Near}
	c.pending.max = opts.MaxPendingInvalidations
	c.bg, c.stopBackground = context.WithCancel(context.Background())
	if c.near != nil {
		c.tier = newNearTier[V](c.near, opts.Prefix, c.decodeStored, func() { c.observe(ResultNearEviction) })
		if err := c.near.register(c.tier); err != nil {
			c.stopBackground()
			return nil, err
		}
	}
	return c, nil
}

// checkNearClient checks what can be seen of a go-redis client: that it
// caches into near. A *redisguard.Client does not show its options.
func checkNearClient(rdb redis.UniversalClient, near *Near) error {
	c, ok := rdb.(interface{ Options() *redis.Options })
	if !ok {
		return nil
	}
	o := c.Options()
	switch {
	case o.ClientSideCache != redis.Cache(near):
		return fmt.Errorf("%w: Near is set, but the client's Options.ClientSideCache is not this Near: nothing would fill it", ErrInvalidOptions)
	case o.Protocol == 2:
		return fmt.Errorf("%w: Near is set, but the client speaks RESP2 (Options.Protocol 2): client-side caching needs Protocol 3", ErrInvalidOptions)
	}
	return nil
}

// Close stops the Cache's background work (shared loads, early refreshes,
// the retry of pending invalidations, which are then lost: see Update) and
// waits for it; a loader that ignores its context delays it. Every method
// returns ErrClosed afterwards. Close does not close the Redis client.
func (c *Cache[V]) Close() error {
	c.closeOnce.Do(func() {
		c.bgMu.Lock()
		c.closed.Store(true)
		c.bgMu.Unlock()
		c.stopBackground()
		c.background.Wait()
		if c.tier != nil {
			c.near.unregister(c.tier)
		}
	})
	return nil
}

// goBackground runs fn on a goroutine Close waits for; false after Close.
func (c *Cache[V]) goBackground(fn func()) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		fn()
	}()
	return true
}

// Stats returns the counts of results so far.
func (c *Cache[V]) Stats() Stats {
	s := c.counts.snapshot()
	s.PendingInvalidations = c.pending.len()
	s.Bypassing = c.pending.bypassing()
	return s
}

// Get returns the value of key: from the near tier or Redis on a hit,
// otherwise from load, which runs once in this process however many callers
// wait for the key, and, with the fill lock, once among the instances that
// miss it together. A Redis failure is never the caller's error: the loader
// answers instead. The error is the loader's (or ErrNotFound, or ctx.Err()
// when the caller's context ended first).
func (c *Cache[V]) Get(ctx context.Context, key string, load Loader[V]) (V, error) {
	var zero V
	switch {
	case key == "":
		return zero, ErrEmptyKey
	case load == nil:
		return zero, ErrNilLoader
	case c.closed.Load():
		return zero, ErrClosed
	}
	if c.pending.n.Load() != 0 || c.pending.bypassNs.Load() != 0 {
		rkey := c.opts.Prefix + key
		if seq, blocked := c.pending.blocked(rkey); blocked {
			c.onFallback(key, ErrInvalidationPending)
			_, deadline := c.budget(ctx)
			return c.load(ctx, key, rkey, load, request{mode: afterPending, result: ResultFallback, deadline: deadline, seq: seq})
		}
	}
	if c.tier != nil {
		if v, err, served := c.nearGet(ctx, key, load); served {
			return v, err
		}
	}
	rkey := c.opts.Prefix + key
	start := time.Now()
	rctx, deadline := c.budgetAt(ctx, start)
	s, err := c.rdb.Get(rctx, rkey).Result()
	switch {
	case err == nil:
		v, kind, m, derr := c.decodeStored(s)
		switch kind {
		case kindNotFound:
			c.observe(ResultNegativeHit)
			return zero, ErrNotFound
		case kindValue:
			c.observe(ResultHit)
			c.maybeRefresh(ctx, key, load, m, start)
			if c.tier != nil && !c.tier.has(key) {
				c.near.forgetRaw(rkey) // so that the next read fills the near tier
			}
			return v, nil
		}
		if errors.Is(derr, ErrCodecPanic) {
			c.observe(ResultLoadError)
			return zero, fmt.Errorf("cache: decode %q: %w", key, derr)
		}
		c.del(rctx, rkey)
		return c.load(ctx, key, rkey, load, request{mode: afterCorrupt, result: ResultCorrupt, deadline: deadline})
	case err == redis.Nil:
		return c.load(ctx, key, rkey, load, request{mode: afterMiss, result: ResultMiss, deadline: deadline, rtt: time.Since(start)})
	case ctx.Err() != nil:
		return zero, ctx.Err()
	default:
		c.onFallback(key, err)
		return c.load(ctx, key, rkey, load, request{mode: afterFailure, result: ResultFallback, deadline: deadline, redisErr: err})
	}
}

// nearGet serves key from the near tier when it holds it.
func (c *Cache[V]) nearGet(ctx context.Context, key string, load Loader[V]) (v V, err error, served bool) {
	now := time.Now()
	e := c.tier.lookup(key, now)
	if e == nil {
		return v, nil, false
	}
	v, kind, m, derr := c.tier.value(e)
	switch kind {
	case kindValue:
		c.observe(ResultNearHit)
		c.maybeRefresh(ctx, key, load, m, now)
		return v, nil, true
	case kindNotFound:
		c.observe(ResultNearNegativeHit)
		return v, ErrNotFound, true
	case kindAbsent:
		// Redis has no value, and would say so: go straight to the load.
		_, deadline := c.budget(ctx)
		v, err = c.load(ctx, key, c.opts.Prefix+key, load, request{mode: afterMiss, result: ResultMiss, deadline: deadline})
		return v, err, true
	}
	if errors.Is(derr, ErrCodecPanic) {
		c.observe(ResultLoadError)
		return v, fmt.Errorf("cache: decode %q: %w", key, derr), true
	}
	return v, nil, false // corrupt: the read of Redis deals with it
}

// decodeStored decodes a value read from Redis.
func (c *Cache[V]) decodeStored(s string) (V, entryKind, meta, error) {
	var zero V
	if s == tombstone {
		return zero, kindNotFound, meta{}, nil
	}
	payload, m := splitHeader(s)
	v, err := c.codec.decode(payload)
	if err != nil {
		return zero, kindCorrupt, m, err
	}
	return v, kindValue, m, nil
}

// encodeStored encodes v as it is stored for ttl, after a load that took
// delta.
func (c *Cache[V]) encodeStored(v V, ttl, delta time.Duration) ([]byte, error) {
	data, err := c.codec.encode(v)
	if err != nil || c.opts.DisableEarlyRefresh {
		return data, err
	}
	return withHeader(data, time.Now().Add(ttl), delta), nil
}

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

// callLoader calls load, turning a panic into an error for every waiter.
func callLoader[V any](ctx context.Context, key string, load Loader[V]) (v V, err error) {
	defer recoverAs(ErrLoaderPanic, &err)
	return load(ctx, key)
}

// del deletes keys within the call's budget; keys deleted no longer wait for
// an invalidation.
func (c *Cache[V]) del(ctx context.Context, rkeys ...string) error {
	if err := c.rdb.Del(ctx, rkeys...).Err(); err != nil {
		return err
	}
	for _, k := range rkeys {
		c.applied(k)
	}
	return nil
}

// applied records that rkey's value in Redis was replaced or deleted.
func (c *Cache[V]) applied(rkey string) {
	if c.pending.remove(rkey, 0) {
		c.observe(ResultInvalidationApplied)
	}
}

// jittered spreads ttl by ±Jitter.
func (c *Cache[V]) jittered(ttl time.Duration) time.Duration {
	if c.opts.Jitter == 0 {
		return ttl
	}
	return time.Duration(float64(ttl) * (1 - c.opts.Jitter + 2*c.opts.Jitter*rand.Float64()))
}

func (c *Cache[V]) observe(r Result) {
	c.counts.add(r)
	if c.opts.Observer != nil {
		c.opts.Observer(c.opts.Name, r)
	}
}

func (c *Cache[V]) onFallback(key string, err error) {
	if c.opts.OnFallback != nil {
		c.opts.OnFallback(key, err)
	}
}

// dropNear removes rkey from this process's near tier, decoded value and raw
// reply, so that a write of this process is never followed by a read of the
// old value from memory.
func (c *Cache[V]) dropNear(rkey string) {
	if c.tier == nil || len(rkey) < len(c.opts.Prefix) {
		return
	}
	c.tier.drop(rkey[len(c.opts.Prefix):], func() { c.near.forgetRaw(rkey) })
}
