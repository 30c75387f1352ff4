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
//     Across instances, the load's lease (below) is also a fill lock: the
//     instance that takes it loads, and the others wait for its value.
//   - Leases: an acknowledged write is never undone by a load, in any
//     instance (memcache's leases, NSDI 2013). A miss takes the key's lease
//     (a Redis key in the same hash slot, holding a random token and a
//     fingerprint of the value the key held) in the same round trip as its
//     second read, before it calls the loader, and stores its value with a
//     script that writes only while the lease holds its token and the key the
//     value of its fingerprint. Set and Update change the value (one SET);
//     Delete and every applied invalidation delete the key with its lease
//     (one DEL); either way the load's store is refused, atomically on the
//     server. Writes stay single commands because Redis delays the
//     invalidation messages of keys written in a script or a transaction,
//     which a near tier waits for. A load that a write overtook stores
//     nothing: the callers that came after the lease
//     was asked for get the value that write left in Redis, or the source's
//     answer loaded once more; the ones that came before get the loaded
//     value. Scripts are sent by SHA, and again in full when Redis lost them
//     (SCRIPT FLUSH, a restart). A Redis that runs no scripts for the client
//     (an ACL without @scripting) turns leases off: the cache keeps working
//     with a plain fill lock, says so once to Options.Logger and counts it
//     (ResultLeasesOff, ResultStoreUnleased).
//   - How long a waiter waits: an instance that finds another's lease polls
//     Redis for the holder's value (after 2 ms, doubling to every 20 ms, each
//     poll within the budget) for as long as the lease lives: until the value
//     is there (it answers with it), until the holder ends the lease without
//     a value, its load having failed or a write having ended it (the waiter
//     then takes the lease and loads), or until the lease expires,
//     FillLockTTL (2 s by default) after it was taken, when the holder died
//     (the waiter then loads). A poll that fails (Redis slow or down) ends
//     the wait: the loader answers. LoadTimeout and the caller's context
//     bound the wait too. With DisableFillLock an instance does not wait; its
//     load stores under the holder's lease.
//   - Early refresh: a value close to its expiry is reloaded in the
//     background by one reader, chosen by chance with XFetch (each hit refreshes
//     with a probability that rises as the expiry nears, scaled by how long the
//     last load took), so that the expiry of a hot key causes no burst of loads.
//     Values carry a 16-byte header (their expiry and load time) for it
//     (Options.DisableEarlyRefresh stores them as they are).
//   - Time budget: Options.Timeout (default 100 ms) bounds each Redis
//     operation of a call: the read, the lease step, each poll while waiting
//     for another instance's value, the store before answering. A miss thus
//     waits for two round trips before its loader (the read, and the lease
//     step that must come before the load); the loader's own time is not part
//     of the budget. A read whose budget ended before it reached Redis (while
//     the client made a new connection, as every caller of a process that
//     just started does) goes on to the lease step, which reads the key
//     again. When the lease step took more than a quarter of the budget, Get
//     answers first and stores the value in the background. The deadline
//     reaches the socket only when the client honours context deadlines,
//     which a redisguard.Client does and a plain go-redis client does with
//     ContextTimeoutEnabled. The read runs to the budget even if the caller's
//     context is cancelled before (its values are kept); a caller's own
//     earlier deadline is honoured.
//   - Shared loads are bounded: Options.LoadTimeout (default 10 s) ends a
//     load's context, its context also ends when the last of its callers has
//     given up, and a later Get of the key starts a fresh load, so a hung
//     loader never holds its key: its lease ends with its context.
//   - Fallback: when Redis fails, the loader's value (or not-found) is
//     returned with its own error; Stats().Fallbacks counts it,
//     Options.OnFallback sees the Redis error, and the value is not written
//     back (a load stores only under a lease). With no lease to confirm the
//     value by, the callers that joined such a load after its loader started
//     (they may have come after a write in another instance) get a second
//     load, shared among them.
//   - Stale if error: with Options.StaleIfError, a value stays in Redis that
//     long past its TTL, and answers (ResultStale) only when its loader fails,
//     never past TTL + StaleIfError.
//   - Shared values: the callers that share one load share its value unless
//     Options.Clone gives every caller but the first a copy.
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
//   - Near tier: with Options.Near, hits are served from process memory as
//     decoded values, on any deployment (standalone, Sentinel, Cluster, any
//     database or credentials, RESP2 or RESP3). See Near and "The near tier"
//     below.
//
// A hit over Redis allocates no more than the GET and json.Unmarshal it
// replaces; a hit of the near tier allocates nothing (see docs/PERFORMANCE.md).
//
// # The near tier
//
// A Near holds, while Caches use it, invalidation connections of its own,
// made from the options of the Caches' client: one on standalone and
// Sentinel, one per node of a cluster (masters, their replicas, masters
// without slots yet). Each is RESP2, CLIENT TRACKING ON REDIRECT to itself,
// BCAST, one PREFIX per Cache, and SUBSCRIBE __redis__:invalidate. The Near
// supervises them itself (this package does not import the client's): each
// connection has one goroutine that reads it, applies every invalidation as
// it arrives, pings it after half a Heartbeat of silence, and reconnects it
// with capped backoff when it fails: it is the connection's only prober. On a
// cluster another goroutine reads the slot map every 250 ms, or at once when
// a replica's connection shows it was promoted (a replica sends no
// invalidations for the writes it replicates), and starts and stops
// connections as nodes come and go; on Sentinel the connection follows the
// master the client uses.
//
// A Get that misses puts a fill marker for its key before reading Redis; the
// value read is kept only if no invalidation of the key removed the marker,
// the connection of the key's master was not lost or made in between, and it
// still covers the key. A connection lost or remade, or a FLUSHALL, drops the
// entries it covers, and a shard's entries are not served while one of its
// connections is down or has not been heard from for 2 × Heartbeat; a
// changed slot map drops the entries of the slots that moved; MaxStaleness
// bounds an entry's age in any case. A hit reads an atomically published
// open-addressing table, a ticking clock, its shard's serving bound, and
// counts itself on the stripe of its processor: it writes no memory another
// core writes.
// docs/CACHE.md has the table of faults.
//
// Values are JSON by default; []byte and string values are stored as they are
// (behind the header, with early refresh on); Options.Codec plugs in any other
// encoding. Close stops a Cache's background work.
package cache
