package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// staleKeys remembers the keys whose cached value may be out of date because
// Update could neither overwrite nor delete it, until an invalidation succeeds
// or the value has surely expired.
type staleKeys struct {
	n       atomic.Int64 // len(m), read without the lock on every Get
	mu      sync.Mutex
	m       map[string]time.Time // key → when its cached value has surely expired
	pruneAt int                  // add prunes once len(m) reaches this: amortized O(1)
}

func (s *staleKeys) add(key string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]time.Time)
	}
	s.m[key] = expires
	if len(s.m) >= s.pruneAt {
		s.pruneLocked()
		s.pruneAt = max(64, 2*len(s.m))
	}
	s.n.Store(int64(len(s.m)))
}

func (s *staleKeys) remove(key string) {
	if s.n.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	s.n.Store(int64(len(s.m)))
}

// has reports whether key's cached value must not be served.
func (s *staleKeys) has(key string) bool {
	if s.n.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	expires, ok := s.m[key]
	if ok && time.Now().After(expires) {
		delete(s.m, key)
		s.n.Store(int64(len(s.m)))
		return false
	}
	return ok
}

func (s *staleKeys) len() int {
	if s.n.Load() == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	return len(s.m)
}

// pruneLocked drops the keys whose value has expired in Redis by now.
func (s *staleKeys) pruneLocked() {
	now := time.Now()
	for k, expires := range s.m {
		if now.After(expires) {
			delete(s.m, k)
		}
	}
	s.n.Store(int64(len(s.m)))
}
