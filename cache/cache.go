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

	"github.com/redisguard/redisguard/internal/typednil"
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
	clone      func(V) V   // Options.Clone, nil to share
	leasesOff  atomic.Bool // Redis runs no scripts for this client

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
	if typednil.Is(rdb) {
		errs.add("rdb", "(the Redis client) is a nil %T: pass a *redisguard.Client or a go-redis client", rdb)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		errs = append(errs, err)
	}
	var clone func(V) V
	if opts.Clone != nil {
		var ok bool
		if clone, ok = opts.Clone.(func(V) V); !ok || clone == nil {
			var zero V
			errs.add("Clone", "is a %T: it must be a non-nil func(%T) %T, the Cache's value type", opts.Clone, zero, zero)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Cache[V]{rdb: rdb, opts: opts, codec: codecFor[V](opts.Codec), near: opts.Near, clone: clone}
	c.pending.max = opts.MaxPendingInvalidations
	c.bg, c.stopBackground = context.WithCancel(context.Background())
	if c.near != nil {
		c.tier = newNearTier[V](c.near, opts.Prefix, c.decodeStored, func() { c.observe(ResultNearEviction) })
		if err := c.near.attach(rdb, c.tier); err != nil {
			c.stopBackground()
			return nil, err
		}
	}
	return c, nil
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
			c.near.detach(c.tier)
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
//
// The callers that share one load share its value: a V holding pointers,
// slices or maps is the same memory for all of them, and none may modify it,
// unless Options.Clone gives every caller but the first a copy. A hit
// decodes a value of the caller's own (the near tier's hits excepted: see
// Near).
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
			return c.load(ctx, key, rkey, load, request{mode: afterPending, result: ResultFallback, seq: seq})
		}
	}
	if c.tier != nil {
		if v, err, served := c.nearGet(ctx, key, load); served {
			return v, err
		}
	}
	rkey := c.opts.Prefix + key
	start := time.Now()
	rctx, _ := c.budgetAt(ctx, start)
	var mark *nearEntry[V]
	if c.tier != nil {
		mark = c.tier.reserve(key) // before the read: see Near
	}
	s, err := c.rdb.Get(rctx, rkey).Result()
	if mark != nil {
		switch err {
		case nil:
			c.tier.fill(mark, s, false)
		case redis.Nil:
			c.tier.fill(mark, "", true)
		default:
			c.tier.cancel(mark)
		}
	}
	switch {
	case err == nil:
		v, kind, m, derr := c.decodeStored(s)
		switch kind {
		case kindNotFound:
			c.observe(ResultNegativeHit)
			return zero, ErrNotFound
		case kindValue:
			if c.opts.StaleIfError > 0 && m.expiresMs != 0 && m.expiresMs <= start.UnixMilli() {
				return c.load(ctx, key, rkey, load, request{mode: afterMiss, result: ResultMiss, stale: s})
			}
			c.observe(ResultHit)
			c.maybeRefresh(ctx, key, load, m, start)
			return v, nil
		}
		if errors.Is(derr, ErrCodecPanic) {
			c.observe(ResultLoadError)
			return zero, fmt.Errorf("cache: decode %q: %w", key, derr)
		}
		c.del(rctx, rkey)
		return c.load(ctx, key, rkey, load, request{mode: afterCorrupt, result: ResultCorrupt})
	case err == redis.Nil:
		return c.load(ctx, key, rkey, load, request{mode: afterMiss, result: ResultMiss})
	case ctx.Err() != nil:
		return zero, ctx.Err()
	case awaitedConn(err):
		// The read never reached Redis: its budget ended while the client
		// made a new connection, as a process that just started does for
		// every concurrent caller. The connection still comes, and the lease
		// step, which reads the key again, gets a budget of its own.
		return c.load(ctx, key, rkey, load, request{mode: afterMiss, result: ResultMiss})
	default:
		c.onFallback(key, err)
		return c.load(ctx, key, rkey, load, request{mode: afterFailure, result: ResultFallback, redisErr: err})
	}
}

// nearGet serves key from the near tier when it holds it.
func (c *Cache[V]) nearGet(ctx context.Context, key string, load Loader[V]) (v V, err error, served bool) {
	now := c.near.clock.nanos()
	e := c.tier.lookup(key, now)
	if e == nil {
		return v, nil, false
	}
	v, kind, m, derr := c.tier.value(e)
	switch kind {
	case kindValue:
		if c.opts.StaleIfError > 0 && m.expiresMs != 0 && m.expiresMs <= now/1e6 {
			return v, nil, false // expired: the read of Redis deals with it
		}
		c.observeNearHit()
		c.maybeRefresh(ctx, key, load, m, time.Unix(0, now))
		return v, nil, true
	case kindNotFound:
		c.observe(ResultNearNegativeHit)
		return v, ErrNotFound, true
	case kindAbsent:
		// Redis has no value, and would say so: go straight to the load.
		v, err = c.load(ctx, key, c.opts.Prefix+key, load, request{mode: afterMiss, result: ResultMiss})
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
// delta. The header is there for early refresh and StaleIfError.
func (c *Cache[V]) encodeStored(v V, ttl, delta time.Duration) ([]byte, error) {
	data, err := c.codec.encode(v)
	if err != nil || (c.opts.DisableEarlyRefresh && c.opts.StaleIfError == 0) {
		return data, err
	}
	return withHeader(data, time.Now().Add(ttl), delta), nil
}

// staleAt reports whether a stored value is past its TTL at now, with
// StaleIfError on: served only when its loader fails.
func (c *Cache[V]) staleAt(s string, now time.Time) bool {
	if c.opts.StaleIfError == 0 {
		return false
	}
	_, m := splitHeader(s)
	return m.expiresMs != 0 && m.expiresMs <= now.UnixMilli()
}

// staleValue decodes the expired value a caller read, when it is still
// within StaleIfError of its expiry.
func (c *Cache[V]) staleValue(s string) (V, bool) {
	var zero V
	if s == "" {
		return zero, false
	}
	v, kind, m, _ := c.decodeStored(s)
	if kind != kindValue || time.Now().UnixMilli() >= m.expiresMs+c.opts.StaleIfError.Milliseconds() {
		return zero, false
	}
	return v, true
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

// observeNearHit counts a near hit on the stripe of the processor it runs on,
// so that hits on different cores write different cache lines.
func (c *Cache[V]) observeNearHit() {
	c.counts.nearHits.Add()
	if c.opts.Observer != nil {
		c.opts.Observer(c.opts.Name, ResultNearHit)
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
	c.tier.drop(rkey[len(c.opts.Prefix):])
}
