package cache

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
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

// refresh loads key again and stores it under a lease, unless another
// instance holds the lease or stored a newer value since seen was read.
func (c *Cache[V]) refresh(ctx context.Context, key, rkey string, load Loader[V], seen meta, superseded *atomic.Bool) {
	lctx, cancel := c.loadContext(ctx)
	defer cancel()
	l := lease{token: newToken(), own: true}
	if !c.claimRefresh(lctx, rkey, l.token, seen) {
		return
	}
	start := time.Now()
	v, err := callLoader(lctx, key, load)
	delta := time.Since(start)

	sctx, scancel := context.WithTimeout(c.bg, c.storeTimeout())
	defer scancel()
	var data []byte
	var px time.Duration
	switch {
	case superseded.Load(): // a write of the key came after this load began
	case errors.Is(err, ErrNotFound) && c.opts.NegativeTTL > 0:
		data, px = []byte(tombstone), c.opts.NegativeTTL
	case errors.Is(err, ErrNotFound):
		data = []byte{} // the record is gone, and so is its value: px 0 deletes it
	case err == nil:
		ttl := c.jittered(c.opts.TTL)
		if data, err = c.encodeStored(v, ttl, delta); err != nil {
			data = nil
		}
		px = ttl + c.opts.StaleIfError
	}
	if data != nil {
		if stored, err := c.storeLeased(sctx, rkey, data, px, l); err == nil && stored {
			c.counts.earlyRefreshes.Add(1)
		}
		return
	}
	c.releaseLease(sctx, rkey, l.token)
}

// claimRefresh takes rkey's lease and checks, in the same round trip, that
// the value is still the one seen: not refreshed by another instance.
func (c *Cache[V]) claimRefresh(ctx context.Context, rkey, token string, seen meta) bool {
	state, current, err := c.leaseStep(ctx, rkey, token, true)
	if err != nil || state != leaseOwn {
		return false
	}
	if _, m := splitHeader(current); current != "" && m.expiresMs == seen.expiresMs {
		return true
	}
	rctx, cancel := context.WithTimeout(ctx, c.storeTimeout())
	defer cancel()
	c.releaseLease(rctx, rkey, token)
	return false
}

// awaitedConn reports whether err is the end of a budget that a command spent
// before it reached Redis: waiting for a connection (a dial, or a turn in the
// pool: the deadline itself), or writing the command (a socket takes a
// command at once unless the budget is already over, or Redis has stopped
// reading, and then the read of the lease step fails too).
func awaitedConn(err error) bool {
	var notSent interface{ NotSent() bool } // a *redisguard.Client's mark: the handshake of a new connection failed
	if errors.As(err, &notSent) && notSent.NotSent() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op == "write" && op.Timeout()
	}
	return errors.Is(err, context.DeadlineExceeded)
}
