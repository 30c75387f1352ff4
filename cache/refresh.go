package cache

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// maybeRefresh starts an early refresh of key when XFetch says its time has
// come: in the background, at most one per key in this process, and, with
// the fill lock, in one process only.
func (c *Cache[V]) maybeRefresh(ctx context.Context, key string, load Loader[V], m meta, now time.Time) {
	if c.opts.DisableEarlyRefresh || !refreshDue(m, now, c.opts.EarlyRefreshBeta) {
		return
	}
	rkey := c.opts.Prefix + key
	superseded, ok := c.refreshing.start(rkey)
	if !ok {
		return
	}
	values := context.WithoutCancel(ctx)
	if !c.goBackground(func() {
		defer c.refreshing.finish(rkey)
		c.refresh(values, key, rkey, load, m, superseded)
	}) {
		c.refreshing.finish(rkey)
	}
}

// refresh loads key again and stores it, unless another instance holds the
// fill lock or stored a newer value since seen was read.
func (c *Cache[V]) refresh(ctx context.Context, key, rkey string, load Loader[V], seen meta, superseded *atomic.Bool) {
	lctx, cancel := c.loadContext(ctx)
	defer cancel()
	token := ""
	if !c.opts.DisableFillLock {
		tok := newToken()
		if !c.claimRefresh(lctx, rkey, tok, seen) {
			return
		}
		token = tok
	}
	start := time.Now()
	v, err := callLoader(lctx, key, load)
	delta := time.Since(start)

	sctx, scancel := context.WithTimeout(c.bg, c.storeTimeout())
	defer scancel()
	var data []byte
	ttl := c.jittered(c.opts.TTL)
	switch {
	case superseded.Load(): // a write of the key came after this load began
	case errors.Is(err, ErrNotFound) && c.opts.NegativeTTL > 0:
		data, ttl = []byte(tombstone), c.opts.NegativeTTL
	case errors.Is(err, ErrNotFound):
		_ = c.rdb.Del(sctx, rkey).Err() // the record is gone, and so is its value
	case err == nil:
		data, err = c.encodeStored(v, ttl, delta)
		if err != nil {
			data = nil
		}
	}
	if data != nil && c.storeAndRelease(sctx, rkey, data, ttl, token) == nil {
		c.counts.earlyRefreshes.Add(1)
		return
	}
	if token != "" {
		c.releaseLock(sctx, rkey, token)
	}
}

// claimRefresh takes rkey's fill lock and checks, in the same round trip,
// that the value is still the one seen: not refreshed by another instance.
func (c *Cache[V]) claimRefresh(ctx context.Context, rkey, token string, seen meta) bool {
	rctx, cancel := context.WithTimeout(ctx, c.storeTimeout())
	defer cancel()
	pipe := c.rdb.Pipeline()
	set := pipe.SetNX(rctx, lockKey(rkey), token, c.opts.FillLockTTL)
	get := pipe.Get(rctx, rkey)
	_, _ = pipe.Exec(rctx)
	if set.Err() != nil || !set.Val() {
		return false
	}
	if get.Err() == nil {
		if _, m := splitHeader(get.Val()); m.expiresMs == seen.expiresMs {
			return true
		}
	}
	c.releaseLock(rctx, rkey, token)
	return false
}

// isTimeout reports whether err says Redis was slow, not unreachable: a value
// loaded then is still worth storing.
func isTimeout(err error) bool {
	var nerr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) || errors.Is(err, redis.ErrPoolTimeout)
}
