package cache

import (
	"context"
	"errors"
	"time"
)

// GetMany returns the values of keys, found ones only: from the near tier,
// then one MGET within the call's budget, then one call of load with exactly
// the keys neither had, whose values are written back in one pipeline in the
// background. Keys load leaves out are not found (and cached as such with
// NegativeTTL). When Redis fails, load gets every key it was asked for.
// Unlike Get, GetMany does not coalesce concurrent loads. On a load error it
// returns that error and no values.
func (c *Cache[V]) GetMany(ctx context.Context, keys []string, load func(ctx context.Context, missing []string) (map[string]V, error)) (map[string]V, error) {
	switch {
	case load == nil:
		return nil, ErrNilLoader
	case c.closed.Load():
		return nil, ErrClosed
	}
	keys, err := distinct(keys)
	if err != nil || len(keys) == 0 {
		return map[string]V{}, err
	}
	found := make(map[string]V, len(keys))
	results := make(map[string]Result, len(keys)) // of the keys to load
	pendingSeq := map[string]uint64{}
	var asked, missing []string
	now := time.Now()
	for _, k := range keys {
		rkey := c.opts.Prefix + k
		if seq, blocked := c.pending.blocked(rkey); blocked {
			c.onFallback(k, ErrInvalidationPending)
			missing = append(missing, k)
			results[k] = ResultFallback
			pendingSeq[k] = seq
			continue
		}
		if c.tier != nil {
			if e := c.tier.lookup(k, now); e != nil {
				switch v, kind, _, _ := c.tier.value(e); kind {
				case kindValue:
					found[k] = v
					c.observe(ResultNearHit)
					continue
				case kindNotFound:
					c.observe(ResultNearNegativeHit)
					continue
				}
			}
		}
		asked = append(asked, k)
	}

	rctx, deadline := c.budget(ctx)
	failed := false
	if len(asked) > 0 {
		rkeys := make([]string, len(asked))
		for i, k := range asked {
			rkeys[i] = c.opts.Prefix + k
		}
		var corrupt []string
		values, err := c.rdb.MGet(rctx, rkeys...).Result()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			failed = true
			for _, k := range asked {
				c.onFallback(k, err)
				results[k] = ResultFallback
			}
			missing = append(missing, asked...)
		default:
			for i, k := range asked {
				s, ok := values[i].(string)
				if !ok {
					missing = append(missing, k)
					results[k] = ResultMiss
					continue
				}
				v, kind, _, _ := c.decodeStored(s)
				switch kind {
				case kindNotFound:
					c.observe(ResultNegativeHit)
				case kindValue:
					found[k] = v
					c.observe(ResultHit)
				default:
					corrupt = append(corrupt, rkeys[i])
					missing = append(missing, k)
					results[k] = ResultCorrupt
				}
			}
		}
		if len(corrupt) > 0 {
			_ = c.del(rctx, corrupt...)
		}
	}
	if len(missing) == 0 {
		return found, nil
	}

	start := time.Now()
	got, err := callBatchLoader(ctx, missing, load)
	if err != nil {
		for range missing {
			c.observe(ResultLoadError)
		}
		return nil, err
	}
	delta := time.Since(start)
	var writes []write
	for _, k := range missing {
		v, ok := got[k]
		if ok {
			found[k] = v
		}
		c.observe(results[k])
		if failed && results[k] == ResultFallback && pendingSeq[k] == 0 {
			continue // Redis failed: do not write to it
		}
		w := write{rkey: c.opts.Prefix + k, seq: pendingSeq[k]}
		switch {
		case ok:
			w.ttl = c.jittered(c.opts.TTL)
			if data, err := c.encodeStored(v, w.ttl, delta); err == nil {
				w.data = data
			}
		case c.opts.NegativeTTL > 0:
			w.data, w.ttl = []byte(tombstone), c.opts.NegativeTTL
		}
		if w.data != nil {
			writes = append(writes, w)
		}
	}
	switch {
	case len(writes) == 0:
	case c.storeFirst(deadline, start, 0):
		sctx, cancel := context.WithTimeout(c.bg, c.remainingBudget(deadline, start))
		c.storeMany(sctx, writes)
		cancel()
	default:
		c.goBackground(func() {
			sctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
			defer cancel()
			c.storeMany(sctx, writes)
		})
	}
	return found, nil
}

// write is one value GetMany writes back.
type write struct {
	rkey string
	data []byte
	ttl  time.Duration
	seq  uint64 // of the pending invalidation it applies, or 0
}

// storeMany writes values back in one pipeline.
func (c *Cache[V]) storeMany(ctx context.Context, writes []write) {
	pipe := c.rdb.Pipeline()
	for _, w := range writes {
		pipe.Set(ctx, w.rkey, w.data, w.ttl)
	}
	cmds, _ := pipe.Exec(ctx)
	for i, cmd := range cmds {
		if w := writes[i]; cmd.Err() == nil && w.seq != 0 && c.pending.remove(w.rkey, w.seq) {
			c.observe(ResultInvalidationApplied)
		}
	}
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
	defer recoverAs(ErrLoaderPanic, &err)
	got, err = load(ctx, missing)
	if err == nil && got == nil {
		got = map[string]V{}
	}
	if errors.Is(err, ErrNotFound) {
		return map[string]V{}, nil
	}
	return got, err
}
