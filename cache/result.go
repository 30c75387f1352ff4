package cache

import "sync/atomic"

// Result is what happened to one key a Get or GetMany served.
type Result uint8

const (
	// ResultHit: decoded from Redis.
	ResultHit Result = iota
	// ResultMiss: not in Redis; the loader answered (or said not found).
	ResultMiss
	// ResultNegativeHit: Redis held a cached not-found; ErrNotFound, no loader.
	ResultNegativeHit
	// ResultFallback: Redis failed; the loader answered.
	ResultFallback
	// ResultLoadError: the loader failed; the caller got its error.
	ResultLoadError
	// ResultCorrupt: Redis held a value that did not decode; it was deleted and
	// the loader answered.
	ResultCorrupt

	numResults
)

// String gives hit, miss, negative_hit, fallback, load_error or corrupt: the
// value of a metrics label.
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
	default:
		return "unknown"
	}
}

// Stats counts the results since the cache was made, one per key served.
type Stats struct {
	Hits         uint64
	Misses       uint64
	NegativeHits uint64
	Fallbacks    uint64
	LoadErrors   uint64
	Corrupt      uint64
	// StaleKeys is how many keys wait for an invalidation that failed (see
	// Update); this Cache does not serve them from Redis meanwhile.
	StaleKeys int
}

// Requests is the number of keys served.
func (s Stats) Requests() uint64 {
	return s.Hits + s.Misses + s.NegativeHits + s.Fallbacks + s.LoadErrors + s.Corrupt
}

// HitRate is the share of keys answered by Redis (hits and negative hits), in
// [0, 1]; 0 before any request.
func (s Stats) HitRate() float64 {
	n := s.Requests()
	if n == 0 {
		return 0
	}
	return float64(s.Hits+s.NegativeHits) / float64(n)
}

// counters are the live counts behind Stats.
type counters [numResults]atomic.Uint64

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:         c[ResultHit].Load(),
		Misses:       c[ResultMiss].Load(),
		NegativeHits: c[ResultNegativeHit].Load(),
		Fallbacks:    c[ResultFallback].Load(),
		LoadErrors:   c[ResultLoadError].Load(),
		Corrupt:      c[ResultCorrupt].Load(),
	}
}
