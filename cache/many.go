package cache

import (
	"context"
	"errors"
)

// GetMany returns the values of keys, found ones only: one MGET, then one call
// of load with exactly the keys Redis did not have, then one pipelined write of
// what load returned. Keys load leaves out are not found (and cached as such
// with NegativeTTL). When Redis fails, load gets every key. Unlike Get, GetMany
// does not coalesce concurrent loads. On a load error it returns that error and
// no values.
func (c *Cache[V]) GetMany(ctx context.Context, keys []string, load func(ctx context.Context, missing []string) (map[string]V, error)) (map[string]V, error) {
	if load == nil {
		return nil, ErrNilLoader
	}
	keys, err := distinct(keys)
	if err != nil || len(keys) == 0 {
		return map[string]V{}, err
	}
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = c.opts.Prefix + k
	}

	found := make(map[string]V, len(keys))
	results := make(map[string]Result, len(keys)) // of the keys to load
	var missing, corrupt []string
	failed := false
	values, err := c.mget(ctx, rkeys)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		failed = true
		for _, k := range keys {
			if c.opts.OnFallback != nil {
				c.opts.OnFallback(k, err)
			}
			results[k] = ResultFallback
		}
		missing = keys
	default:
		for i, k := range keys {
			s, ok := values[i].(string)
			switch {
			case !ok || c.stale.has(rkeys[i]):
				missing = append(missing, k)
				results[k] = ResultMiss
			case s == tombstone:
				c.observe(ResultNegativeHit)
			default:
				v, err := c.decode(s)
				if err != nil {
					corrupt = append(corrupt, rkeys[i])
					missing = append(missing, k)
					results[k] = ResultCorrupt
					continue
				}
				found[k] = v
				c.observe(ResultHit)
			}
		}
	}
	if len(corrupt) > 0 {
		_ = c.del(ctx, corrupt...)
	}
	if len(missing) == 0 {
		return found, nil
	}

	got, err := callBatchLoader(ctx, missing, load)
	if err != nil {
		for range missing {
			c.observe(ResultLoadError)
		}
		return nil, err
	}
	pipe := c.rdb.Pipeline()
	for _, k := range missing {
		v, ok := got[k]
		switch {
		case ok:
			found[k] = v
			if data, err := c.encode(v); err == nil {
				pipe.Set(ctx, c.opts.Prefix+k, data, c.jittered(c.opts.TTL))
			}
		case c.opts.NegativeTTL > 0:
			pipe.Set(ctx, c.opts.Prefix+k, tombstone, c.opts.NegativeTTL)
		}
		c.observe(results[k])
	}
	if !failed && pipe.Len() > 0 {
		bctx, cancel := c.budget(ctx)
		if _, err := pipe.Exec(bctx); err == nil {
			for _, k := range missing {
				c.stale.remove(c.opts.Prefix + k)
			}
		}
		cancel()
	}
	return found, nil
}

// mget reads rkeys within the time budget.
func (c *Cache[V]) mget(ctx context.Context, rkeys []string) ([]any, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	return c.rdb.MGet(ctx, rkeys...).Result()
}

// distinct returns keys without repeats, in order, or ErrEmptyKey.
func distinct(keys []string) ([]string, error) {
	seen := make(map[string]struct{}, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if k == "" {
			return nil, ErrEmptyKey
		}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out, nil
}

// callBatchLoader calls load, turning a panic into an error.
func callBatchLoader[V any](ctx context.Context, missing []string, load func(context.Context, []string) (map[string]V, error)) (got map[string]V, err error) {
	defer recoverLoader(&err)
	got, err = load(ctx, missing)
	if err == nil && got == nil {
		got = map[string]V{}
	}
	if errors.Is(err, ErrNotFound) {
		return map[string]V{}, nil
	}
	return got, err
}
