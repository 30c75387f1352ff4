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

	// leaseSent is when the load first asked Redis for the lease (Unix
	// nanoseconds; 0 before, and for a load after a failed read, which asks
	// for none). A caller that joins later may have come after a write that
	// ends the lease: it gets res only once the store under the lease
	// confirmed it (provisional false), and otherwise final, loaded again.
	leaseSent   atomic.Int64
	provisional bool          // set before done is closed
	confirmed   chan struct{} // closed once final is set
	final       outcome[V]
	takers      atomic.Int64 // callers that took the value, for Options.Clone
	afterLease  int          // callers that joined after leaseSent; guarded by flights.mu

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

	// pristine is a copy of v made by Options.Clone before any caller got v,
	// for the copies of the callers after the first (cloneErr if it panicked).
	pristine V
	cloneErr error
}

// flights is the set of shared loads of a Cache, by Redis key.
type flights[V any] struct {
	mu sync.Mutex
	m  map[string]*flight[V]
}

// join returns the flight of rkey that a new caller may wait on, or a new one
// (started true) that the caller must run. late is true when the flight has
// delivered its value already and is storing it. afterLease is true when the
// caller joined after the flight asked for its lease: it waits for the
// confirmation of the value.
func (g *flights[V]) join(rkey string, newCtx func() (context.Context, context.CancelFunc), bound time.Duration) (f *flight[V], started, late, afterLease bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[rkey]; f != nil && now.Before(f.bound) {
		f.waiters++
		if sent := f.leaseSent.Load(); sent != 0 && now.UnixNano() > sent {
			f.afterLease++
			afterLease = true
		}
		return f, false, f.delivered, afterLease
	}
	if g.m == nil {
		g.m = make(map[string]*flight[V])
	}
	ctx, cancel := newCtx()
	f = &flight[V]{done: make(chan struct{}), ctx: ctx, cancel: cancel, bound: now.Add(bound), waiters: 1}
	g.m[rkey] = f
	return f, true, false, false
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

// deliver hands res to the callers of f. With provisional, res is not
// confirmed (yet) by a store under the lease: f stays in the group until
// settle, and the callers that joined after its lease was asked for wait for
// confirm. Without, f leaves the group now: a loader's error is never shared
// beyond the callers that waited for it.
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

// closeJoins takes f out of the group before its value is stored: a caller
// that joined after the store was sent could have come after a write that
// followed the store, and must read Redis instead.
func (g *flights[V]) closeJoins(rkey string, f *flight[V]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m[rkey] == f {
		delete(g.m, rkey)
	}
}

// settle ends a provisional f's joining. With confirmed, or when no caller
// joined after its lease was asked for, res is final; otherwise it reports
// that those callers need a second load, to be given with confirm.
func (g *flights[V]) settle(rkey string, f *flight[V], confirmed bool) (reload bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m[rkey] == f {
		delete(g.m, rkey)
	}
	if confirmed || f.afterLease == 0 {
		f.final = f.res
		close(f.confirmed)
		return false
	}
	return true
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
