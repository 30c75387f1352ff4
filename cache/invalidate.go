package cache

import (
	"context"
	"math/rand/v2"
	"time"
)

// readyWaiter is implemented by clients that know when Redis can be reached
// again, such as *redisguard.Client: WaitReady returns at once while the
// client is ready and blocks while it reconnects. With a client that does not
// implement it, pending invalidations are retried on a backoff.
type readyWaiter interface {
	WaitReady(ctx context.Context) error
}

// The retry schedule of pending invalidations: short enough that they are
// applied within half a second of Redis answering again, even with a client
// that cannot say when that is.
const (
	retryMinBackoff = 50 * time.Millisecond
	retryMaxBackoff = 500 * time.Millisecond
	retryBatch      = 200
)

// deferInvalidation keeps the invalidation of rkey that could not reach Redis.
func (c *Cache[V]) deferInvalidation(rkey string) {
	added, start := c.pending.add(rkey, time.Now().Add(c.maxTTL()))
	if !added {
		c.observe(ResultInvalidationDropped)
		return
	}
	c.observe(ResultInvalidationDeferred)
	if start && !c.goBackground(c.retryInvalidations) {
		c.pending.stop()
	}
}

// maxTTL is the longest a value written now can live in Redis.
func (c *Cache[V]) maxTTL() time.Duration {
	return time.Duration(float64(c.opts.TTL)*(1+c.opts.Jitter)) + time.Second
}

// retryInvalidations applies the pending invalidations as soon as Redis
// answers, until none is left (applied or expired) or the Cache closes.
func (c *Cache[V]) retryInvalidations() {
	backoff := retryMinBackoff
	for {
		keys, seqs, done := c.pending.batch(retryBatch)
		if done {
			return
		}
		if w, ok := c.rdb.(readyWaiter); ok {
			_ = w.WaitReady(c.bg)
		}
		if c.bg.Err() != nil {
			c.pending.stop()
			return
		}
		if c.applyInvalidations(keys, seqs) {
			backoff = retryMinBackoff
			continue
		}
		pause := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		if !sleep(c.bg, pause) {
			c.pending.stop()
			return
		}
		backoff = min(2*backoff, retryMaxBackoff)
	}
}

// applyInvalidations deletes keys, with their leases, in one pipeline and
// forgets those deleted. It reports whether every one was.
func (c *Cache[V]) applyInvalidations(keys []string, seqs []uint64) bool {
	ctx, cancel := context.WithTimeout(c.bg, c.storeTimeout())
	defer cancel()
	pipe := c.rdb.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k, leaseKey(k))
	}
	cmds, _ := pipe.Exec(ctx)
	all := len(cmds) == len(keys)
	for i, cmd := range cmds {
		if cmd.Err() != nil {
			all = false
			continue
		}
		c.dropNear(keys[i])
		if c.pending.remove(keys[i], seqs[i]) {
			c.observe(ResultInvalidationApplied)
		}
	}
	return all
}

// storeTimeout bounds a Redis operation made in the background, off any
// caller's budget: ten budgets, at least a second. It is longer than the
// budget on purpose: when Redis is slow, a Get that timed out cost go-redis
// its connection, and a new one needs a handshake and the command, two round
// trips; a background write given the time for both leaves a working
// connection in the pool, where a budget-bound one would fail each time.
func (c *Cache[V]) storeTimeout() time.Duration {
	return max(time.Second, 10*c.opts.Timeout)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
