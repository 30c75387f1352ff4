// Package cache is a cache-aside helper over any go-redis client: on a hit it
// decodes the cached value; on a miss it calls the loader (the source of truth)
// once per key however many callers and instances wait, stores the value with
// a jittered TTL and returns it; and when Redis fails (down, paused, breaker
// open, client not ready) it answers from the loader, never from an error.
//
//	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: 10 * time.Minute})
//	p, err := products.Get(ctx, "42", func(ctx context.Context, id string) (Product, error) {
//		return db.Product(ctx, id) // ErrNotFound when there is none
//	})
//
// It works with a *redisguard.Client, whose fail-fast and circuit breaker make
// the fallback immediate, and with a plain go-redis client. It does not import
// redisguard: where it needs to know that the client can reach Redis again, it
// asks for an optional WaitReady(ctx) error method.
//
// # Behaviour
//
//   - Coalescing: concurrent Gets of one cold key in a process share one load.
//     Across instances, a fill lock in Redis (SET NX PX with a random token,
//     released by a token-checked delete) lets one instance load while the
//     others wait for its value within their budget, then load on their own if
//     it is slow or gone (Options.DisableFillLock, FillLockTTL).
//   - Early refresh: a value close to its expiry is reloaded in the
//     background by one reader, chosen by chance with XFetch (each hit refreshes
//     with a probability that rises as the expiry nears, scaled by how long the
//     last load took), so that the expiry of a hot key causes no burst of loads.
//     Values carry a 16-byte header (their expiry and load time) for it
//     (Options.DisableEarlyRefresh stores them as they are).
//   - Time budget: Options.Timeout (default 100 ms) is one deadline for every
//     Redis operation of a call (the read, the fill lock, the wait for another
//     instance's value); the loader's own time is not part of it. When too
//     little is left for another round trip, the cache skips it; when less
//     than half is left after the load, Get answers first and stores the value
//     in the background. The deadline reaches the socket only when the client
//     honours context deadlines, which a redisguard.Client does and a plain
//     go-redis client does with ContextTimeoutEnabled. The Redis operation of a
//     call runs to the budget even if the caller's context is cancelled before
//     (its values are kept); a caller's own earlier deadline is honoured.
//   - Shared loads are bounded: Options.LoadTimeout (default 10 s) ends a
//     load's context, its context also ends when the last of its callers has
//     given up, and a later Get of the key starts a fresh load, so a hung
//     loader never holds its key.
//   - Fallback: when Redis fails, the loader's value (or not-found) is
//     returned with its own error; Stats().Fallbacks counts it,
//     Options.OnFallback sees the Redis error, and the value is not written
//     back unless Redis was only slow.
//   - TTL jitter: each value lives TTL·(1 ± Jitter) (Jitter 0.1 by default), so
//     keys written together do not expire together.
//   - Negative caching: a loader's ErrNotFound is stored for NegativeTTL (off
//     by default), and Gets answer ErrNotFound from Redis without the loader.
//     Other loader errors are never cached.
//   - Corrupt values: a cached value that does not decode is a miss; the key is
//     deleted and Stats().Corrupt counts it.
//   - Panics: a panicking loader, Codec or MarshalJSON does not crash the
//     process or strand the callers waiting on it: every one of them gets an
//     error wrapping ErrLoaderPanic or ErrCodecPanic, with the panic value and
//     stack.
//   - Write-through and invalidation: Update writes the source first, then the
//     cache. An invalidation that cannot reach Redis is kept, bounded and
//     deduplicated, and applied as soon as Redis answers; meanwhile this Cache
//     serves the key from its loader. See Cache.Update for the bound, what
//     happens when it overflows, and what remains possible.
//   - Near tier: with a Near, hits are served from process memory as decoded
//     values, kept up to date by Redis's invalidation messages through
//     go-redis's client-side caching. See Near.
//
// A hit over Redis allocates no more than the GET and json.Unmarshal it
// replaces; a hit of the near tier allocates nothing (see docs/PERFORMANCE.md).
//
// Values are JSON by default; []byte and string values are stored as they are
// (behind the header, with early refresh on); Options.Codec plugs in any other
// encoding. Close stops a Cache's background work.
package cache
