package cache

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fill lock of a key is a Redis key beside it, set with SET NX PX to a
// random token by the instance that loads the key, and deleted by that
// instance only (releaseScript checks the token) once the value is stored. An
// instance that dies holding it holds it for FillLockTTL at most.
const lockSuffix = "\x00fill-lock"

// releaseScript deletes a fill lock if it still holds the caller's token.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func lockKey(rkey string) string { return rkey + lockSuffix }

func newToken() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// lockStep reads rkey again and tries to take its fill lock, in one round
// trip. It returns the value when another instance stored it meanwhile (and
// releases the lock if it took it too), or whether the lock is now this
// caller's.
func (c *Cache[V]) lockStep(ctx context.Context, rkey, token string) (value string, found, won bool, err error) {
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, rkey)
	set := pipe.SetNX(ctx, lockKey(rkey), token, c.opts.FillLockTTL)
	_, _ = pipe.Exec(ctx)
	if err := get.Err(); err != nil && err != redis.Nil {
		return "", false, false, err
	}
	if err := set.Err(); err != nil {
		return "", false, false, err
	}
	if get.Err() == nil {
		if set.Val() {
			c.releaseLock(ctx, rkey, token)
		}
		return get.Val(), true, false, nil
	}
	return "", false, set.Val(), nil
}

// awaitFill polls rkey until another instance's load stores it, or until a
// read of rtt would no longer end before deadline. found is false when the
// deadline came first.
func (c *Cache[V]) awaitFill(ctx context.Context, rkey string, deadline time.Time, rtt time.Duration) (value string, found bool, err error) {
	wait := 2 * time.Millisecond
	for {
		remaining := time.Until(deadline) - rtt // a read must fit before the deadline
		if remaining <= 0 {
			return "", false, nil
		}
		pause := min(wait, remaining)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", false, nil
		}
		s, err := c.rdb.Get(ctx, rkey).Result()
		switch {
		case err == nil:
			return s, true, nil
		case err != redis.Nil && ctx.Err() == nil:
			return "", false, err
		case err != redis.Nil:
			return "", false, nil // the budget ended during the read
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// releaseLock deletes rkey's fill lock if it still holds token.
func (c *Cache[V]) releaseLock(ctx context.Context, rkey, token string) {
	_ = releaseScript.Run(ctx, c.rdb, []string{lockKey(rkey)}, token).Err()
}

// storeAndRelease writes rkey and releases its fill lock (token "" means none
// held) in one round trip.
func (c *Cache[V]) storeAndRelease(ctx context.Context, rkey string, data []byte, ttl time.Duration, token string) error {
	pipe := c.rdb.Pipeline()
	set := pipe.Set(ctx, rkey, data, ttl)
	var release *redis.Cmd
	if token != "" {
		release = releaseScript.EvalSha(ctx, pipe, []string{lockKey(rkey)}, token)
	}
	_, _ = pipe.Exec(ctx)
	if release != nil && redis.HasErrorPrefix(release.Err(), "NOSCRIPT") {
		c.releaseLock(ctx, rkey, token)
	}
	return set.Err()
}
