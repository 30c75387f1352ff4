// Package cache is a cache-aside helper over any go-redis client: on a hit it
// decodes the cached value; on a miss it calls the loader (the source of truth)
// once per key however many callers wait, stores the value with a jittered TTL
// and returns it; and when Redis fails (down, paused, breaker open, client not
// ready) it answers from the loader, never from an error.
//
//	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: 10 * time.Minute})
//	p, err := products.Get(ctx, "42", func(ctx context.Context, id string) (Product, error) {
//		return db.Product(ctx, id) // ErrNotFound when there is none
//	})
//
// It works with a *redisguard.Client, whose fail-fast and circuit breaker make
// the fallback immediate, and with a plain go-redis client.
//
// # Behaviour
//
//   - Coalescing: concurrent Gets of one cold key share one load (singleflight),
//     and a Get that missed re-reads the key before loading, so a key loaded
//     moments ago is not loaded again.
//   - Time budget: every Redis operation of the cache is bounded by
//     Options.Timeout (default 100 ms), so a slow or paused Redis delays a Get by
//     at most the budget before the loader answers. The budget is a context
//     deadline: the client must honour it on the socket, which a
//     redisguard.Client does and a plain go-redis client does with
//     ContextTimeoutEnabled.
//   - Fallback: when Redis fails, the loader's value is returned with a nil
//     error; Stats().Fallbacks counts it, Options.OnFallback sees the Redis
//     error, and the value is not written back (Redis is failing).
//   - TTL jitter: each value lives TTL·(1 ± Jitter) (Jitter 0.1 by default), so
//     keys written together do not expire together.
//   - Negative caching: a loader's ErrNotFound is stored for NegativeTTL (off
//     by default), and Gets answer ErrNotFound from Redis without the loader.
//     Other loader errors are never cached.
//   - Corrupt values: a cached value that does not decode is a miss; the key is
//     deleted and Stats().Corrupt counts it.
//   - Loader panics: a panicking loader does not crash the process or strand
//     the callers waiting on it: every one of them gets an error wrapping
//     ErrLoaderPanic, with the panic value and stack.
//   - Cancellation: a caller whose context ends stops waiting with ctx.Err();
//     the load it started goes on for the others, without its cancellation.
//   - Write-through: Update writes the source first, then the cache; if the
//     cache write fails the key is deleted, and if that fails too the key is
//     remembered and never served from Redis by this Cache until a later write
//     or deletion of it succeeds.
//
// Values are JSON by default; []byte and string values are stored as they are;
// Options.Codec plugs in any other encoding.
package cache
