package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of NearOptions.
const (
	DefaultNearMaxEntries   = 10_000
	DefaultNearMaxBytes     = 64 << 20
	DefaultNearMaxStaleness = 5 * time.Second
)

// NearOptions configures a Near.
type NearOptions struct {
	// MaxEntries bounds the number of entries of each of the two stores (the
	// replies go-redis caches and the decoded values). Zero means
	// DefaultNearMaxEntries (10,000).
	MaxEntries int

	// MaxBytes bounds the size of each store, counted as the encoded size of
	// the values plus their keys and about 100 bytes per entry. Zero means
	// DefaultNearMaxBytes (64 MiB). go-redis splits its store in 16 shards, so
	// a value larger than MaxBytes/16 is never kept in memory.
	MaxBytes int64

	// MaxStaleness is the longest an entry is served from memory after it was
	// read from Redis, whatever Redis said since: the bound on a stale read
	// when invalidation messages are lost (a network partition that leaves the
	// connection open). Zero means DefaultNearMaxStaleness (5 s).
	MaxStaleness time.Duration
}

// Near is an in-process tier in front of Redis for Caches: it keeps the values
// they read as decoded values in memory, and Redis itself tells when one
// changes. It is go-redis's client-side caching (RESP3 CLIENT TRACKING): give
// it to the go-redis client as Options.ClientSideCache (or
// UniversalOptions.ClientSideCache) with Protocol 3, then to each Cache as
// Options.Near:
//
//	near, err := cache.NewNear(cache.NearOptions{})
//	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{
//		Addrs: []string{addr}, Protocol: 3, ClientSideCache: near,
//	}})
//	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: time.Hour, Near: near})
//
// A Near implements redis.Cache over a redis.LocalCache, which keeps the raw
// replies as go-redis needs them. Beside it, for every key of a Cache that
// uses it, it keeps the reply of GET, decoded on first use: a hit returns that
// value without a Redis call, a decode or an allocation. Both are emptied by
// the same signals: DeleteByRedisKey (Redis invalidated the key),
// EvictByConn (the connection that read it is gone, so its invalidations
// would be lost) and Flush; and both stop serving an entry MaxStaleness after
// it was read.
//
// Values served from memory are shared by every caller: a V holding
// pointers, slices or maps must not be modified by the caller.
//
// go-redis caches only on a standalone client (not a cluster or a ring), in
// database 0, and not with a credentials provider (a redisguard
// PasswordFile is one): there a Near stays empty and every Get reads Redis.
// NearStats.Fills shows whether it is used.
type Near struct {
	raw          *redis.LocalCache
	maxEntries   int64
	maxBytes     int64
	maxStaleness time.Duration

	mu    sync.Mutex // serializes registration
	tiers atomic.Pointer[[]tierHandle]
	ns    atomic.Pointer[string] // go-redis's namespace of keys, learned from the first it names

	entries, bytes                                          atomic.Int64
	fills, evictions, invalidations, connEvictions, flushes atomic.Uint64
}

var _ redis.Cache = (*Near)(nil)

// NewNear returns an empty Near.
func NewNear(opts NearOptions) (*Near, error) {
	var errs optionErrors
	switch {
	case opts.MaxEntries < 0:
		errs.add("NearOptions.MaxEntries", "is %d: it must not be negative", opts.MaxEntries)
	case opts.MaxEntries == 0:
		opts.MaxEntries = DefaultNearMaxEntries
	}
	switch {
	case opts.MaxBytes < 0:
		errs.add("NearOptions.MaxBytes", "is %d: it must not be negative", opts.MaxBytes)
	case opts.MaxBytes == 0:
		opts.MaxBytes = DefaultNearMaxBytes
	}
	switch {
	case opts.MaxStaleness < 0:
		errs.add("NearOptions.MaxStaleness", "is %v: it must be positive (it bounds a stale read)", opts.MaxStaleness)
	case opts.MaxStaleness == 0:
		opts.MaxStaleness = DefaultNearMaxStaleness
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := &Near{
		raw: redis.NewLocalCache(redis.CacheConfig{
			MaxEntries:     opts.MaxEntries,
			MaxMemoryBytes: opts.MaxBytes,
			MaxStaleness:   opts.MaxStaleness,
		}),
		maxEntries:   int64(opts.MaxEntries),
		maxBytes:     opts.MaxBytes,
		maxStaleness: opts.MaxStaleness,
	}
	n.tiers.Store(&[]tierHandle{})
	return n, nil
}

// NearStats are the counts of a Near, over all the Caches that use it.
type NearStats struct {
	// Entries and Bytes are the decoded values held now, and their size.
	Entries int
	Bytes   int64
	// Fills counts values read from Redis into memory; Evictions those
	// dropped to stay within the bounds; Invalidations those dropped because
	// Redis invalidated them; ConnEvictions those dropped because the
	// connection that read them closed; Flushes the times all were dropped.
	Fills, Evictions, Invalidations, ConnEvictions, Flushes uint64
	// Raw are go-redis's counts of the replies it keeps.
	Raw redis.CSCStats
}

// Stats returns the counts of the Near.
func (n *Near) Stats() NearStats {
	return NearStats{
		Entries:       int(n.entries.Load()),
		Bytes:         n.bytes.Load(),
		Fills:         n.fills.Load(),
		Evictions:     n.evictions.Load(),
		Invalidations: n.invalidations.Load(),
		ConnEvictions: n.connEvictions.Load(),
		Flushes:       n.flushes.Load(),
		Raw:           n.raw.Stats(),
	}
}

// tierHandle is the untyped view of a Cache's store of decoded values.
type tierHandle interface {
	prefix() string
	// fulfill stores reply for key when publish, run under the key's lock,
	// succeeds, and returns what publish returned.
	fulfill(key, cacheKey string, reply []byte, owner uint64, publish func() bool) bool
	// drop removes key, running also under the key's lock.
	drop(key string, also func()) bool
	evictConn(owner uint64) int
	flush() int
}

// register adds the store of a Cache; prefixes must not overlap, or one key
// would belong to two Caches.
func (n *Near) register(t tierHandle) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.tiers.Load()
	for _, o := range old {
		if strings.HasPrefix(t.prefix(), o.prefix()) || strings.HasPrefix(o.prefix(), t.prefix()) {
			return fmt.Errorf("%w: Near is already used by a Cache with Prefix %q, which overlaps %q: give each Cache on a Near its own prefix", ErrInvalidOptions, o.prefix(), t.prefix())
		}
	}
	tiers := append(append([]tierHandle(nil), old...), t)
	n.tiers.Store(&tiers)
	return nil
}

func (n *Near) unregister(t tierHandle) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.tiers.Load()
	tiers := make([]tierHandle, 0, len(old))
	for _, o := range old {
		if o != t {
			tiers = append(tiers, o)
		}
	}
	n.tiers.Store(&tiers)
	t.flush()
}

// tierOf returns the store a Redis key belongs to, and the key without the
// prefix.
func (n *Near) tierOf(rkey string) (tierHandle, string, bool) {
	for _, t := range *n.tiers.Load() {
		if p := t.prefix(); strings.HasPrefix(rkey, p) && len(rkey) > len(p) {
			return t, rkey[len(p):], true
		}
	}
	return nil, "", false
}

// learn records go-redis's key namespace, needed to drop a reply it keeps.
func (n *Near) learn(ns string) {
	if cur := n.ns.Load(); cur == nil || *cur != ns {
		n.ns.Store(&ns)
	}
}

// forgetRaw drops the reply go-redis keeps for rkey, so that its next read
// fetches it and fills the decoded store too.
func (n *Near) forgetRaw(rkey string) {
	if ns := n.ns.Load(); ns != nil {
		n.raw.DeleteByRedisKey(*ns + rkey)
	}
}

// Get returns the reply go-redis keeps for cacheKey.
func (n *Near) Get(ctx context.Context, cacheKey string) ([]byte, bool) {
	return n.raw.Get(ctx, cacheKey)
}

// Reserve claims cacheKey for fetching; see redis.Cache.
func (n *Near) Reserve(cacheKey string, redisKeys []string) (uint64, bool) {
	return n.raw.Reserve(cacheKey, redisKeys)
}

// Cancel drops a reservation; see redis.Cache.
func (n *Near) Cancel(cacheKey string, token uint64) bool {
	return n.raw.Cancel(cacheKey, token)
}

// FulfillOwned publishes a fetched reply, and, for the GET of a Cache's key,
// keeps it for the Cache to decode, under the same lock as the invalidations
// of that key.
func (n *Near) FulfillOwned(cacheKey string, token, ownerConnID uint64, value []byte) bool {
	publish := func() bool { return n.raw.FulfillOwned(cacheKey, token, ownerConnID, value) }
	ns, rkey, ok := parseGetCacheKey(cacheKey)
	if !ok {
		return publish()
	}
	n.learn(ns)
	t, key, ok := n.tierOf(rkey)
	if !ok {
		return publish()
	}
	return t.fulfill(key, cacheKey, value, ownerConnID, publish)
}

// DeleteByRedisKey drops every entry of a key Redis invalidated.
func (n *Near) DeleteByRedisKey(redisKey string) int {
	removed := 0
	also := func() { removed += n.raw.DeleteByRedisKey(redisKey) }
	if _, rkey, ok := splitNamespace(redisKey); ok {
		if t, key, ok := n.tierOf(rkey); ok {
			if t.drop(key, also) {
				n.invalidations.Add(1)
			}
			return removed
		}
	}
	also()
	return removed
}

// DeleteByCacheKey drops one entry.
func (n *Near) DeleteByCacheKey(cacheKey string) bool {
	removed := false
	also := func() { removed = n.raw.DeleteByCacheKey(cacheKey) }
	if _, rkey, ok := parseGetCacheKey(cacheKey); ok {
		if t, key, ok := n.tierOf(rkey); ok {
			t.drop(key, also)
			return removed
		}
	}
	also()
	return removed
}

// EvictByConn drops every entry read on a connection that is gone.
func (n *Near) EvictByConn(connID uint64) int {
	removed := n.raw.EvictByConn(connID)
	for _, t := range *n.tiers.Load() {
		n.connEvictions.Add(uint64(t.evictConn(connID)))
	}
	return removed
}

// Flush drops every entry.
func (n *Near) Flush() int {
	removed := n.raw.Flush()
	for _, t := range *n.tiers.Load() {
		t.flush()
	}
	n.flushes.Add(1)
	return removed
}
