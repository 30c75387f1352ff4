package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// settle invalidates a product's cache entry a second time, a while after it
// was written. The cache keeps a load in this instance from storing a value
// read before a write, but a load in another instance that read the database
// just before the write may store the old value just after it. Such a load
// ends within the cache's LoadTimeout and stores within its store timeout;
// the second invalidation comes after both, which bounds how long any
// instance can serve the old value (staleBound).
type settle struct {
	after time.Duration
	del   func(ctx context.Context, id string) error
	log   *slog.Logger

	mu      sync.Mutex
	closed  bool
	timers  map[string]*time.Timer // one per product written recently
	running sync.WaitGroup
}

func newSettle(after time.Duration, del func(ctx context.Context, id string) error, log *slog.Logger) *settle {
	return &settle{after: after, del: del, log: log, timers: make(map[string]*time.Timer)}
}

// written schedules the second invalidation of id, or postpones it when one
// is scheduled: the last write's counts.
func (s *settle) written(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if t, ok := s.timers[id]; ok && t.Reset(s.after) {
		return
	}
	s.timers[id] = time.AfterFunc(s.after, func() { s.fire(id) })
}

func (s *settle) fire(id string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	delete(s.timers, id)
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// A Redis that cannot be reached keeps it pending in the cache, which
	// applies it before serving the key from Redis again.
	if err := s.del(ctx, id); err != nil {
		s.log.Warn("second invalidation", "product", id, "err", err)
	}
}

// close drops the invalidations not yet due and waits for those under way.
func (s *settle) close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.timers {
		t.Stop()
	}
	s.mu.Unlock()
	s.running.Wait()
}
