package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// pendingSet holds the invalidations that could not reach Redis: the keys
// whose value in Redis may be older than an acknowledged write. Each is kept
// until an invalidation of it succeeds or its old value has surely expired,
// deduplicated by key and bounded by Options.MaxPendingInvalidations. When the
// bound is reached the newest invalidation is dropped and the whole Cache
// bypasses Redis until every value it could have left stale has expired.
type pendingSet struct {
	n        atomic.Int64 // len(m), read without the lock on every Get
	bypassNs atomic.Int64 // Unix nanoseconds until which Redis is bypassed; 0 for none

	mu      sync.Mutex
	m       map[string]pendingEntry
	seq     uint64
	max     int
	running bool // the retrier runs
}

type pendingEntry struct {
	expires time.Time // when the old value has surely expired in Redis
	seq     uint64    // tells a re-added key from the one an invalidation applied
}

// add remembers rkey until expires. It returns false when the set is full: the
// invalidation is dropped and Redis is bypassed until expires.
func (s *pendingSet) add(rkey string, expires time.Time) (added, startRetrier bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]pendingEntry)
	}
	_, exists := s.m[rkey]
	if !exists && len(s.m) >= s.max {
		s.pruneLocked(time.Now())
	}
	if !exists && len(s.m) >= s.max {
		if until := expires.UnixNano(); until > s.bypassNs.Load() {
			s.bypassNs.Store(until)
		}
		return false, false
	}
	s.seq++
	s.m[rkey] = pendingEntry{expires: expires, seq: s.seq}
	s.n.Store(int64(len(s.m)))
	startRetrier = !s.running
	s.running = true
	return true, startRetrier
}

// blocked reports whether rkey's value in Redis must not be served, and the
// sequence number to remove it with once a fresh value is stored.
func (s *pendingSet) blocked(rkey string) (seq uint64, blocked bool) {
	if s.n.Load() == 0 && s.bypassNs.Load() == 0 {
		return 0, false
	}
	if b := s.bypassNs.Load(); b != 0 {
		if time.Now().UnixNano() < b {
			return 0, true
		}
		s.bypassNs.CompareAndSwap(b, 0)
	}
	if s.n.Load() == 0 {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[rkey]
	if ok && time.Now().After(e.expires) {
		s.deleteLocked(rkey)
		return 0, false
	}
	return e.seq, ok
}

// remove forgets rkey once an invalidation reached Redis; seq 0 removes it
// whatever it is, another only the entry of that sequence number. It reports
// whether an entry went.
func (s *pendingSet) remove(rkey string, seq uint64) bool {
	if s.n.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[rkey]
	if !ok || (seq != 0 && e.seq != seq) {
		return false
	}
	s.deleteLocked(rkey)
	return true
}

// batch returns up to n pending keys with their sequence numbers, after
// dropping those that have expired. When there are none it marks the retrier
// stopped and returns done.
func (s *pendingSet) batch(n int) (keys []string, seqs []uint64, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	if len(s.m) == 0 {
		s.running = false
		return nil, nil, true
	}
	for k, e := range s.m {
		keys = append(keys, k)
		seqs = append(seqs, e.seq)
		if len(keys) == n {
			break
		}
	}
	return keys, seqs, false
}

// stop marks the retrier stopped (the Cache closed).
func (s *pendingSet) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
}

func (s *pendingSet) len() int {
	if s.n.Load() == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	return len(s.m)
}

// bypassing reports whether an overflow makes the Cache bypass Redis now.
func (s *pendingSet) bypassing() bool {
	b := s.bypassNs.Load()
	return b != 0 && time.Now().UnixNano() < b
}

func (s *pendingSet) pruneLocked(now time.Time) {
	for k, e := range s.m {
		if now.After(e.expires) {
			delete(s.m, k)
		}
	}
	s.n.Store(int64(len(s.m)))
}

func (s *pendingSet) deleteLocked(rkey string) {
	delete(s.m, rkey)
	s.n.Store(int64(len(s.m)))
}
