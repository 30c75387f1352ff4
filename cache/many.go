package cache

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// GetMany returns the values of keys, found ones only: from the near tier,
// then one MGET within the call's budget, then, for the keys missing, one
// round trip that takes their leases (and finds the values stored since),
// then one call of load with exactly the keys none of these had, whose values
// are written back under their leases in one pipeline. Keys load leaves out
// are not found (and cached as such with NegativeTTL). When Redis fails,
// load gets every key it was asked for and nothing is written back. A value
// past its TTL (StaleIfError) is loaded again; GetMany never answers it.
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
			if e := c.tier.lookup(k, c.near.clock.nanos()); e != nil {
				switch v, kind, _, _ := c.tier.value(e); kind {
				case kindValue:
					found[k] = v
					c.observeNearHit()
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
				switch {
				case kind == kindNotFound:
					c.observe(ResultNegativeHit)
				case kind == kindValue && c.staleAt(s, now):
					missing = append(missing, k)
					results[k] = ResultMiss
				case kind == kindValue:
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
	var leases map[string]*lease
	if !failed {
		missing, leases = c.leaseMany(ctx, missing, results, pendingSeq, found)
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
		c.releaseMany(leases, nil)
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
		w := write{rkey: c.opts.Prefix + k, seq: pendingSeq[k], lease: leases[k]}
		if w.lease == nil && !c.leasesOff.Load() {
			continue // no lease: a write may have come since the load began
		}
		switch {
		case ok:
			ttl := c.jittered(c.opts.TTL)
			w.ttl = ttl + c.opts.StaleIfError
			if data, err := c.encodeStored(v, ttl, delta); err == nil {
				w.data = data
			}
		case c.opts.NegativeTTL > 0:
			w.data, w.ttl = []byte(tombstone), c.opts.NegativeTTL
		}
		if w.data != nil {
			writes = append(writes, w)
		}
	}
	c.releaseMany(leases, writes)
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
	rkey  string
	data  []byte
	ttl   time.Duration // the PX
	seq   uint64        // of the pending invalidation it applies, or 0
	lease *lease        // nil when leases are off
}

// storeMany writes values back in one pipeline, each under its lease (the
// scripts in full: a pipeline cannot send one again on NOSCRIPT).
func (c *Cache[V]) storeMany(ctx context.Context, writes []write) {
	pipe := c.rdb.Pipeline()
	cmds := make([]redis.Cmder, len(writes))
	for i, w := range writes {
		if w.lease == nil {
			c.observe(ResultStoreUnleased)
			cmds[i] = pipe.Set(ctx, w.rkey, w.data, w.ttl)
			continue
		}
		cmds[i] = pipe.Eval(ctx, storeSrc, []string{w.rkey, leaseKey(w.rkey)}, w.lease.token, w.data, w.ttl.Milliseconds())
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		w := writes[i]
		ok := cmd.Err() == nil
		if script, isScript := cmd.(*redis.Cmd); isScript && ok {
			n, _ := script.Int()
			ok = n == 1
		}
		if ok && w.seq != 0 && c.pending.remove(w.rkey, w.seq) {
			c.observe(ResultInvalidationApplied)
		}
	}
}

// releaseMany ends, in the background, the leases GetMany took and does not
// store under, so that no other instance waits on them.
func (c *Cache[V]) releaseMany(leases map[string]*lease, writes []write) {
	stored := make(map[*lease]bool, len(writes))
	for _, w := range writes {
		stored[w.lease] = true
	}
	var keys, tokens []string
	for k, l := range leases {
		if l.own && !stored[l] {
			keys, tokens = append(keys, c.opts.Prefix+k), append(tokens, l.token)
		}
	}
	if len(keys) == 0 {
		return
	}
	c.goBackground(func() {
		ctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
		defer cancel()
		pipe := c.rdb.Pipeline()
		for i, rkey := range keys {
			pipe.Eval(ctx, releaseSrc, []string{leaseKey(rkey)}, tokens[i])
		}
		_, _ = pipe.Exec(ctx)
	})
}

// leaseMany takes the leases of the keys GetMany is about to load, in one
// round trip within one budget, and finds the values stored since its read:
// those are added to found and leave missing. Keys whose lease step failed
// are loaded without a lease (and not stored); with leases off every key is.
func (c *Cache[V]) leaseMany(ctx context.Context, missing []string, results map[string]Result, pendingSeq map[string]uint64, found map[string]V) ([]string, map[string]*lease) {
	if c.leasesOff.Load() {
		return missing, nil
	}
	rctx, cancel := c.opContext(ctx)
	defer cancel()
	pipe := c.rdb.Pipeline()
	tokens := make([]string, len(missing))
	cmds := make([]*redis.Cmd, len(missing))
	for i, k := range missing {
		rkey := c.opts.Prefix + k
		tokens[i] = newToken()
		skipRead := results[k] == ResultCorrupt || pendingSeq[k] != 0
		cmds[i] = pipe.Eval(rctx, leaseSrc, []string{rkey, leaseKey(rkey)}, c.leaseArgs(tokens[i], skipRead)...)
	}
	_, _ = pipe.Exec(rctx)
	leases := make(map[string]*lease, len(missing))
	still := missing[:0:0]
	for i, k := range missing {
		reply, err := cmds[i].Slice()
		if err != nil {
			if c.scriptingRefused(err) {
				return missing, nil
			}
			still = append(still, k)
			continue
		}
		state, s, _ := leaseReply(reply)
		switch state {
		case leaseOwn:
			leases[k] = &lease{token: tokens[i], own: true}
		case leaseOthers:
			leases[k] = &lease{token: s}
		case leaseValue:
			switch v, kind, _, _ := c.decodeStored(s); kind {
			case kindValue:
				found[k] = v
				c.observe(ResultHit)
				continue
			case kindNotFound:
				c.observe(ResultNegativeHit)
				continue
			}
		}
		still = append(still, k)
	}
	return still, leases
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
