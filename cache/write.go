package cache

import (
	"context"
	"fmt"
	"time"
)

// Set stores v under key with the cache's TTL.
func (c *Cache[V]) Set(ctx context.Context, key string, v V) error {
	if key == "" {
		return ErrEmptyKey
	}
	data, err := c.encode(v)
	if err != nil {
		return fmt.Errorf("cache: encode %q: %w", key, err)
	}
	return c.store(ctx, c.opts.Prefix+key, data, c.jittered(c.opts.TTL))
}

// Delete removes keys from the cache (invalidation). The next Get of each loads
// it from the source.
func (c *Cache[V]) Delete(ctx context.Context, keys ...string) error {
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
	return c.del(ctx, rkeys...)
}

// Update is write-through: it writes v to the source of truth with write, then
// to the cache. A write error is returned and the cache is left alone. When the
// cache cannot be written, the key is deleted so that no stale value survives;
// when Redis refuses even that, Update still returns nil (the source holds v),
// and this Cache stops serving the key from Redis until a later Set, Delete,
// Update or load of it reaches Redis, or the old value has expired
// (Stats().StaleKeys counts such keys).
func (c *Cache[V]) Update(ctx context.Context, key string, v V, write func(ctx context.Context, v V) error) error {
	if key == "" {
		return ErrEmptyKey
	}
	if write == nil {
		return fmt.Errorf("cache: Update %q: nil write function", key)
	}
	if err := write(ctx, v); err != nil {
		return err
	}
	rkey := c.opts.Prefix + key
	if data, err := c.encode(v); err == nil && c.store(ctx, rkey, data, c.jittered(c.opts.TTL)) == nil {
		return nil
	}
	if c.del(ctx, rkey) == nil {
		return nil
	}
	// The old value lives at most its TTL, jitter included.
	c.stale.add(rkey, time.Now().Add(time.Duration(float64(c.opts.TTL)*(1+c.opts.Jitter))))
	return nil
}
