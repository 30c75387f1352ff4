package cache

import (
	"sync/atomic"

	"github.com/redisguard/redisguard/internal/stripe"
)

// Result is what happened to one key a Get or GetMany served (Served reports
// true), or an event of the Cache's invalidations and near tier.
type Result uint8

const (
	// ResultHit: decoded from Redis.
	ResultHit Result = iota
	// ResultMiss: not in Redis; the loader answered (or said not found).
	ResultMiss
	// ResultNegativeHit: Redis held a cached not-found; ErrNotFound, no loader.
	ResultNegativeHit
	// ResultFallback: Redis failed, or could not be trusted for the key (an
	// invalidation of it is pending); the loader answered.
	ResultFallback
	// ResultLoadError: the loader failed; the caller got its error.
	ResultLoadError
	// ResultCorrupt: Redis held a value that did not decode; it was deleted and
	// the loader answered.
	ResultCorrupt
	// ResultNearHit: served from the near tier (process memory), decoded
	// already, without a Redis call.
	ResultNearHit
	// ResultNearNegativeHit: a cached not-found served from the near tier.
	ResultNearNegativeHit
	// ResultStale: the value was past its TTL and the loader failed: the
	// expired value answered (Options.StaleIfError).
	ResultStale

	// ResultInvalidationDeferred (an event): an invalidation (Update, Set,
	// Delete) could not reach Redis and is kept until it can.
	ResultInvalidationDeferred
	// ResultInvalidationApplied (an event): a kept invalidation reached Redis.
	ResultInvalidationApplied
	// ResultInvalidationDropped (an event): an invalidation could not be kept
	// (MaxPendingInvalidations reached); the Cache bypasses Redis for a TTL.
	ResultInvalidationDropped
	// ResultLeasesOff (an event, once per Cache): Redis refused to run the
	// lease scripts (an ACL without @scripting, a server without EVAL);
	// loads store without a lease from then on.
	ResultLeasesOff
	// ResultStoreUnleased (an event): a load stored its value without a
	// lease, leases being off: a write in another instance during the load
	// may be undone until the value expires.
	ResultStoreUnleased
	// ResultNearEviction (an event): a value left the near tier to keep it
	// within its bounds.
	ResultNearEviction

	numResults
)

// String gives the value of a metrics label: hit, miss, negative_hit,
// fallback, load_error, corrupt, near_hit, near_negative_hit, stale,
// invalidation_deferred, invalidation_applied, invalidation_dropped,
// leases_off, store_unleased or near_eviction.
func (r Result) String() string {
	switch r {
	case ResultHit:
		return "hit"
	case ResultMiss:
		return "miss"
	case ResultNegativeHit:
		return "negative_hit"
	case ResultFallback:
		return "fallback"
	case ResultLoadError:
		return "load_error"
	case ResultCorrupt:
		return "corrupt"
	case ResultNearHit:
		return "near_hit"
	case ResultNearNegativeHit:
		return "near_negative_hit"
	case ResultStale:
		return "stale"
	case ResultInvalidationDeferred:
		return "invalidation_deferred"
	case ResultInvalidationApplied:
		return "invalidation_applied"
	case ResultInvalidationDropped:
		return "invalidation_dropped"
	case ResultLeasesOff:
		return "leases_off"
	case ResultStoreUnleased:
		return "store_unleased"
	case ResultNearEviction:
		return "near_eviction"
	default:
		return "unknown"
	}
}

// Served reports whether r is the outcome of a key served to a caller, as
// opposed to an event.
func (r Result) Served() bool { return r <= ResultStale }

// Hit reports whether r is a key answered by the cache, from Redis or from
// memory, without the loader.
func (r Result) Hit() bool {
	return r == ResultHit || r == ResultNegativeHit || r == ResultNearHit || r == ResultNearNegativeHit
}

// Stats counts the results since the cache was made.
type Stats struct {
	// One per key served.
	Hits             uint64
	Misses           uint64
	NegativeHits     uint64
	Fallbacks        uint64
	LoadErrors       uint64
	Corrupt          uint64
	NearHits         uint64
	NearNegativeHits uint64
	// StaleServed counts expired values served because the loader failed
	// (Options.StaleIfError).
	StaleServed uint64

	// Events.
	InvalidationsDeferred uint64
	InvalidationsApplied  uint64
	InvalidationsDropped  uint64
	NearEvictions         uint64
	// LeasesOff is 1 once Redis refused the lease scripts, and
	// UnleasedStores counts the loads stored without a lease since.
	LeasesOff      uint64
	UnleasedStores uint64
	// EarlyRefreshes counts the loads of values refreshed before their expiry.
	EarlyRefreshes uint64

	// PendingInvalidations is how many keys wait for an invalidation that
	// could not reach Redis; this Cache does not serve them from Redis
	// meanwhile.
	PendingInvalidations int
	// Bypassing is true while an overflow of the pending invalidations makes
	// the Cache answer every key from the loader (see Cache.Update).
	Bypassing bool
}

// Requests is the number of keys served.
func (s Stats) Requests() uint64 {
	return s.Hits + s.Misses + s.NegativeHits + s.Fallbacks + s.LoadErrors + s.Corrupt + s.NearHits + s.NearNegativeHits + s.StaleServed
}

// HitRate is the share of keys answered without the loader (from Redis or the
// near tier, values and not-founds), in [0, 1]; 0 before any request.
func (s Stats) HitRate() float64 {
	n := s.Requests()
	if n == 0 {
		return 0
	}
	return float64(s.Hits+s.NegativeHits+s.NearHits+s.NearNegativeHits) / float64(n)
}

// counters are the live counts behind Stats, each on its own cache line so
// that parallel hits do not contend with misses.
type counters struct {
	c              [numResults]paddedCounter
	earlyRefreshes atomic.Uint64
	nearHits       stripe.Counter // a hit of the near tier writes no line other cores write
}

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func (c *counters) add(r Result) { c.c[r].Add(1) }

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:                  c.c[ResultHit].Load(),
		Misses:                c.c[ResultMiss].Load(),
		NegativeHits:          c.c[ResultNegativeHit].Load(),
		Fallbacks:             c.c[ResultFallback].Load(),
		LoadErrors:            c.c[ResultLoadError].Load(),
		Corrupt:               c.c[ResultCorrupt].Load(),
		NearHits:              c.c[ResultNearHit].Load() + c.nearHits.Load(),
		NearNegativeHits:      c.c[ResultNearNegativeHit].Load(),
		StaleServed:           c.c[ResultStale].Load(),
		InvalidationsDeferred: c.c[ResultInvalidationDeferred].Load(),
		InvalidationsApplied:  c.c[ResultInvalidationApplied].Load(),
		InvalidationsDropped:  c.c[ResultInvalidationDropped].Load(),
		NearEvictions:         c.c[ResultNearEviction].Load(),
		LeasesOff:             c.c[ResultLeasesOff].Load(),
		UnleasedStores:        c.c[ResultStoreUnleased].Load(),
		EarlyRefreshes:        c.earlyRefreshes.Load(),
	}
}
