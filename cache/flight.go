package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// flight is one shared load of a key in this process. Its callers wait for
// done; when the last of them gives up before it is done, its context is
// cancelled and it leaves the group, so that a later caller starts afresh.
// A flight past its bound (LoadTimeout) is no longer joined either: a hung
// loader does not hold its key.
type flight[V any] struct {
	done   chan struct{} // closed when res is set
	res    outcome[V]
	ctx    context.Context // the load's context
	cancel context.CancelFunc
	bound  time.Time

	// superseded is set by a write of the key: what the flight loaded may be
	// older than that write, so it must not be stored.
	superseded atomic.Bool

	// leaseSent is when the load last asked Redis for the lease; set by the
	// load before done is closed.
	leaseSent time.Time
	// provisional: res was handed out before its store under the lease was
	// confirmed; final, set before confirmed is closed, is the answer for the
	// callers that joined after leaseSent.
	provisional bool
	confirmed   chan struct{}
	final       outcome[V]
	takers      atomic.Int64 // callers that took the value, for Options.Clone

	waiters   int  // guarded by flights.mu
	delivered bool // guarded by flights.mu
}

// outcome is the result of a flight, shared by its callers.
type outcome[V any] struct {
	v         V
	err       error // the loader's (or codec's) error, or ErrNotFound
	fromRedis bool  // found in Redis (another instance, or a caller just before): no load
	redisErr  error // Redis failed during the fill: the loader answered
	stale     bool  // the loader failed, and v is the expired value (StaleIfError)
}

// flights is the set of shared loads of a Cache, by Redis key.
type flights[V any] struct {
	mu sync.Mutex
	m  map[string]*flight[V]
}

// join returns the flight of rkey that a new caller may wait on, or a new one
// (started true) that the caller must run. late is true when the flight has
// delivered its value already and is storing it: the caller gets it at once.
func (g *flights[V]) join(rkey string, newCtx func() (context.Context, context.CancelFunc), bound time.Duration) (f *flight[V], started, late bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[rkey]; f != nil && now.Before(f.bound) {
		f.waiters++
		return f, false, f.delivered
	}
	if g.m == nil {
		g.m = make(map[string]*flight[V])
	}
	ctx, cancel := newCtx()
	f = &flight[V]{done: make(chan struct{}), ctx: ctx, cancel: cancel, bound: now.Add(bound), waiters: 1}
	g.m[rkey] = f
	return f, true, false
}

// leave is called by a caller that stops waiting before f is done. The last
// one to leave cancels the load and takes it out of the group.
func (g *flights[V]) leave(rkey string, f *flight[V]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f.waiters--
	if f.waiters > 0 || f.delivered {
		return
	}
	f.cancel()
	if g.m[rkey] == f {
		delete(g.m, rkey)
	}
}

// deliver hands res to the callers of f. With provisional, res is handed out
// before it is stored: f stays in the group until finish, and the callers
// that joined after its lease was asked for wait for confirm. Without, f
// leaves the group now: a loader's error is never shared beyond the callers
// that waited for it.
func (g *flights[V]) deliver(rkey string, f *flight[V], res outcome[V], provisional bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f.delivered {
		return
	}
	f.res = res
	f.delivered = true
	if provisional {
		f.provisional = true
		f.confirmed = make(chan struct{})
	}
	close(f.done)
	if !provisional && g.m[rkey] == f {
		delete(g.m, rkey)
	}
}

// confirm sets the answer of the callers of a provisional f that joined after
// its lease was asked for.
func (f *flight[V]) confirm(res outcome[V]) {
	f.final = res
	close(f.confirmed)
}

// finish takes f out of the group once its work, the store included, is over.
func (g *flights[V]) finish(rkey string, f *flight[V]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m[rkey] == f {
		delete(g.m, rkey)
	}
}

// supersede marks the flight of rkey as older than a write of the key: it will
// not store what it loaded, and no new caller joins it.
func (g *flights[V]) supersede(rkey string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[rkey]; f != nil {
		f.superseded.Store(true)
		delete(g.m, rkey)
	}
}

// refreshes is the set of keys being refreshed early in this process.
type refreshes struct {
	mu sync.Mutex
	m  map[string]*atomic.Bool // rkey → superseded
}

// start claims rkey for an early refresh; false when one already runs.
func (r *refreshes) start(rkey string) (*atomic.Bool, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, running := r.m[rkey]; running {
		return nil, false
	}
	if r.m == nil {
		r.m = make(map[string]*atomic.Bool)
	}
	s := new(atomic.Bool)
	r.m[rkey] = s
	return s, true
}

func (r *refreshes) finish(rkey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, rkey)
}

func (r *refreshes) supersede(rkey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.m[rkey]; s != nil {
		s.Store(true)
	}
}
