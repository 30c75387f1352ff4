package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// Errors of the cache.
var (
	// ErrNotFound is what a loader returns for a record that does not exist.
	// With Options.NegativeTTL it is cached, and later Gets return it without
	// calling the loader.
	ErrNotFound = errors.New("cache: not found")

	// ErrLoaderPanic is wrapped by the error every caller waiting on a load gets
	// when the loader panicked; the message holds the panic value and stack.
	ErrLoaderPanic = errors.New("cache: loader panicked")

	// ErrEmptyKey is returned for an empty key, ErrNilLoader for a nil loader.
	ErrEmptyKey  = errors.New("cache: empty key")
	ErrNilLoader = errors.New("cache: nil loader")
)

// tombstone is the value stored for a cached not-found. It starts with a NUL
// byte, which no JSON document does.
const tombstone = "\x00redisguard:not-found"

// Loader reads one record from the source of truth, or returns ErrNotFound.
type Loader[V any] func(ctx context.Context, key string) (V, error)

// Cache is a cache-aside view of values of type V in Redis. It is safe for
// concurrent use.
type Cache[V any] struct {
	rdb    redis.UniversalClient
	opts   Options
	encode func(V) ([]byte, error)
	decode func(string) (V, error)
	flight singleflight.Group
	counts counters
	stale  staleKeys
}

// New returns a Cache over rdb, a *redisguard.Client or any go-redis client.
func New[V any](rdb redis.UniversalClient, opts Options) (*Cache[V], error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: the Redis client is nil", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache[V]{rdb: rdb, opts: opts}
	c.encode, c.decode = codecFor[V](opts.Codec)
	return c, nil
}

// Stats returns the counts of results so far.
func (c *Cache[V]) Stats() Stats {
	s := c.counts.snapshot()
	s.StaleKeys = c.stale.len()
	return s
}

// loadMode says how a load that follows a Get's read of Redis goes on.
type loadMode uint8

const (
	// afterMiss: read Redis once more first (another caller may just have
	// stored the value), then store what the loader returns.
	afterMiss loadMode = iota
	// afterCorrupt and afterStale: store what the loader returns.
	afterCorrupt
	afterStale
	// afterFailure: Redis failed; do not touch it again.
	afterFailure
)

// loaded is the outcome of one load, shared by every caller waiting on it.
type loaded[V any] struct {
	v         V
	fromRedis bool // the second read found the value: no load happened
}

// Get returns the value of key: from Redis on a hit, otherwise from load, which
// runs once however many callers wait for the key. A Redis failure is never the
// caller's error: the loader answers instead. The error is the loader's (or
// ErrNotFound, or ctx.Err() when the caller's context ended first).
func (c *Cache[V]) Get(ctx context.Context, key string, load Loader[V]) (V, error) {
	var zero V
	if key == "" {
		return zero, ErrEmptyKey
	}
	if load == nil {
		return zero, ErrNilLoader
	}
	rkey := c.opts.Prefix + key
	if c.stale.has(rkey) {
		return c.load(ctx, key, rkey, load, afterStale, ResultMiss)
	}
	s, err := c.read(ctx, rkey)
	switch {
	case err == nil && s == tombstone:
		c.observe(ResultNegativeHit)
		return zero, ErrNotFound
	case err == nil:
		v, derr := c.decode(s)
		if derr == nil {
			c.observe(ResultHit)
			return v, nil
		}
		c.del(ctx, rkey)
		return c.load(ctx, key, rkey, load, afterCorrupt, ResultCorrupt)
	case err == redis.Nil:
		return c.load(ctx, key, rkey, load, afterMiss, ResultMiss)
	case ctx.Err() != nil:
		return zero, ctx.Err()
	default:
		if c.opts.OnFallback != nil {
			c.opts.OnFallback(key, err)
		}
		return c.load(ctx, key, rkey, load, afterFailure, ResultFallback)
	}
}

// load waits for the one load of rkey, started by this caller or another, and
// counts the caller's result.
func (c *Cache[V]) load(ctx context.Context, key, rkey string, load Loader[V], mode loadMode, result Result) (V, error) {
	var zero V
	// The load belongs to every caller waiting on it: it runs without this
	// caller's cancellation, so that a caller giving up does not fail the rest.
	fill := context.WithoutCancel(ctx)
	ch := c.flight.DoChan(rkey, func() (any, error) { return c.fill(fill, key, rkey, load, mode) })
	select {
	case r := <-ch:
		switch {
		case r.Err == nil:
			l := r.Val.(loaded[V])
			if l.fromRedis {
				result = ResultHit
			}
			c.observe(result)
			return l.v, nil
		case errors.Is(r.Err, ErrNotFound):
			c.observe(ResultMiss)
			return zero, r.Err
		default:
			c.observe(ResultLoadError)
			return zero, r.Err
		}
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// fill runs one load: read again after a miss, call the loader, store the value
// (or a not-found) unless Redis failed.
func (c *Cache[V]) fill(ctx context.Context, key, rkey string, load Loader[V], mode loadMode) (result any, err error) {
	if mode == afterMiss {
		if s, err := c.read(ctx, rkey); err == nil && s != tombstone {
			if v, err := c.decode(s); err == nil {
				return loaded[V]{v: v, fromRedis: true}, nil
			}
		}
	}
	v, err := c.callLoader(ctx, key, load)
	switch {
	case errors.Is(err, ErrNotFound):
		if mode != afterFailure && c.opts.NegativeTTL > 0 {
			c.store(ctx, rkey, []byte(tombstone), c.opts.NegativeTTL)
		}
		return nil, err
	case err != nil:
		return nil, err
	}
	if mode != afterFailure {
		if data, err := c.encode(v); err == nil {
			c.store(ctx, rkey, data, c.jittered(c.opts.TTL))
		}
	}
	return loaded[V]{v: v}, nil
}

// callLoader calls load, turning a panic into an error for every waiter.
func (c *Cache[V]) callLoader(ctx context.Context, key string, load Loader[V]) (v V, err error) {
	defer recoverLoader(&err)
	return load(ctx, key)
}

// recoverLoader, deferred around a loader call, turns its panic into an error
// wrapping ErrLoaderPanic, with the panic value and stack.
func recoverLoader(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %v\n%s", ErrLoaderPanic, p, debug.Stack())
	}
}

// read GETs rkey within the time budget.
func (c *Cache[V]) read(ctx context.Context, rkey string) (string, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	return c.rdb.Get(ctx, rkey).Result()
}

// store SETs rkey within the time budget; on success the key is no longer stale.
func (c *Cache[V]) store(ctx context.Context, rkey string, data []byte, ttl time.Duration) error {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	if err := c.rdb.Set(ctx, rkey, data, ttl).Err(); err != nil {
		return err
	}
	c.stale.remove(rkey)
	return nil
}

// del DELetes keys within the time budget; on success they are no longer stale.
func (c *Cache[V]) del(ctx context.Context, rkeys ...string) error {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	if err := c.rdb.Del(ctx, rkeys...).Err(); err != nil {
		return err
	}
	for _, k := range rkeys {
		c.stale.remove(k)
	}
	return nil
}

// budget bounds one Redis operation by Options.Timeout, or by the caller's own
// deadline when that comes first.
func (c *Cache[V]) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.opts.Timeout < 0 {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= c.opts.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// jittered spreads ttl by ±Jitter.
func (c *Cache[V]) jittered(ttl time.Duration) time.Duration {
	if c.opts.Jitter == 0 {
		return ttl
	}
	return time.Duration(float64(ttl) * (1 - c.opts.Jitter + 2*c.opts.Jitter*rand.Float64()))
}

func (c *Cache[V]) observe(r Result) {
	c.counts[r].Add(1)
	if c.opts.Observer != nil {
		c.opts.Observer(c.opts.Name, r)
	}
}
