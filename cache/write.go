package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Set stores v under key with the cache's TTL, within the call's budget. When
// Redis refuses, the error is returned and the key is invalidated as soon as
// Redis answers again (see Update).
func (c *Cache[V]) Set(ctx context.Context, key string, v V) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case c.closed.Load():
		return ErrClosed
	}
	rkey := c.opts.Prefix + key
	ttl := c.jittered(c.opts.TTL)
	data, err := c.encodeStored(v, ttl, 0)
	if err != nil {
		return fmt.Errorf("cache: encode %q: %w", key, err)
	}
	c.superseded(rkey)
	rctx, _ := c.budget(ctx)
	err = c.write(rctx, rkey, data, ttl)
	c.dropNear(rkey)
	if err != nil {
		c.deferInvalidation(rkey)
		return err
	}
	return nil
}

// Delete removes keys from the cache (invalidation), within the call's
// budget. The next Get of each loads it from the source. When Redis cannot
// be reached, the deletions are kept and applied as soon as it can (see
// Update), and Delete returns nil: this Cache serves none of the keys from
// Redis meanwhile.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if len(keys) == 0 {
		return nil
	}
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		if k == "" {
			return ErrEmptyKey
		}
		rkeys[i] = c.opts.Prefix + k
	}
	for _, rkey := range rkeys {
		c.superseded(rkey)
	}
	rctx, _ := c.budget(ctx)
	failed := c.invalidate(rctx, rkeys)
	for i, rkey := range rkeys {
		c.dropNear(rkey)
		if failed[i] {
			c.deferInvalidation(rkey)
		}
	}
	return nil
}

// Update is write-through: it writes v to the source of truth with write,
// then to the cache. A write error is returned and the cache is left alone.
//
// An acknowledged write is never undone by the cache. When Redis cannot take
// the new value, the key is deleted; when it refuses that too (down, paused,
// breaker open, a read-only replica), Update still returns nil (the source
// holds v) and keeps the invalidation: this Cache serves the key from its
// loader, never from Redis or its near tier, until the invalidation is
// applied, which it does as soon as Redis answers (a *redisguard.Client tells
// when it is ready again; other clients are retried every 50–500 ms), or
// until the old value has expired (TTL·(1+Jitter)). Other instances read
// Redis, so they see the new value once the invalidation is applied.
//
// Pending invalidations are deduplicated and bounded by
// MaxPendingInvalidations (Stats().PendingInvalidations counts them, and the
// Observer sees ResultInvalidationDeferred, ResultInvalidationApplied). Past
// the bound an invalidation is dropped (ResultInvalidationDropped) and the
// Cache bypasses Redis for every key until every value it could have left
// stale has expired, TTL·(1+Jitter) later: the loader answers meanwhile.
//
// What remains possible: a process that ends (crash, deploy, Close) before
// Redis comes back loses its pending invalidations, and other instances then
// serve the old value until it expires, TTL·(1+Jitter) after it was stored at
// the latest. A shorter TTL bounds that; so does replaying the writes of the
// outage with Delete at start-up, from a record the application keeps. A load
// in another instance that read the source just before the write does not
// store the older value after it: the write ends the load's lease (see the
// package doc), unless Redis runs no scripts for that instance's client
// (Stats().LeasesOff), when TTL bounds it.
func (c *Cache[V]) Update(ctx context.Context, key string, v V, write func(ctx context.Context, v V) error) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case write == nil:
		return fmt.Errorf("cache: Update %q: nil write function", key)
	case c.closed.Load():
		return ErrClosed
	}
	if err := write(ctx, v); err != nil {
		return err
	}
	rkey := c.opts.Prefix + key
	c.superseded(rkey)
	rctx, _ := c.budget(ctx)
	ttl := c.jittered(c.opts.TTL)
	stored := false
	if data, err := c.encodeStored(v, ttl, 0); err == nil {
		stored = c.write(rctx, rkey, data, ttl) == nil
	}
	c.dropNear(rkey)
	switch {
	case stored:
	case !c.invalidate(rctx, []string{rkey})[0]:
	default:
		c.deferInvalidation(rkey)
	}
	return nil
}

// write stores data for ttl (and StaleIfError): one SET, which changes the
// value a lease's fingerprint holds, so that a load in any instance that
// began before it stores nothing. A key written no longer waits for an
// invalidation.
func (c *Cache[V]) write(ctx context.Context, rkey string, data []byte, ttl time.Duration) error {
	if err := c.rdb.Set(ctx, rkey, data, ttl+c.opts.StaleIfError).Err(); err != nil {
		return err
	}
	c.applied(rkey)
	return nil
}

// invalidate deletes rkeys and their leases (each key with its lease in one
// command) in one round trip, and reports which failed. Keys deleted no
// longer wait for an invalidation.
func (c *Cache[V]) invalidate(ctx context.Context, rkeys []string) (failed []bool) {
	failed = make([]bool, len(rkeys))
	if len(rkeys) == 1 {
		// One command, not a pipeline: go-redis runs pipelines on a pool of
		// their own, whose connections a process that just started has yet
		// to make.
		failed[0] = c.rdb.Del(ctx, rkeys[0], leaseKey(rkeys[0])).Err() != nil
		if !failed[0] {
			c.applied(rkeys[0])
		}
		return failed
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(rkeys))
	for i, rkey := range rkeys {
		cmds[i] = pipe.Del(ctx, rkey, leaseKey(rkey))
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		if cmd.Err() != nil {
			failed[i] = true
			continue
		}
		c.applied(rkeys[i])
	}
	return failed
}

// superseded tells the loads and refreshes of rkey running now that a write
// came after them: they must not store what they loaded.
func (c *Cache[V]) superseded(rkey string) {
	c.flights.supersede(rkey)
	c.refreshing.supersede(rkey)
}
