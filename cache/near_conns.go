package cache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// invalidateChannel is where Redis sends the invalidations of a
	// connection that redirects them to a subscriber (RESP2).
	invalidateChannel = "__redis__:invalidate"
	// topologyPoll is how often a cluster's slot map is read; a slot moved
	// or a master replaced is noticed within it.
	topologyPoll   = 250 * time.Millisecond
	nearMinBackoff = 10 * time.Millisecond
	nearMaxBackoff = 2 * time.Second
	// promotionGrace is how long a replica that delivered an invalidation
	// keeps its master's entries from being served while the slot map still
	// lists it as a replica.
	promotionGrace = 2 * time.Second
)

// nearConns are the invalidation connections of a Near, one per server (on a
// cluster, each master and each replica), and the goroutines that supervise
// them: one reader per connection, which is also its only prober (it
// reconnects with capped, jittered backoff), the Near's clock, and on a
// cluster the watcher of the slot map.
type nearConns struct {
	near *Near
	src  nearSource
	ctx  context.Context
	halt context.CancelFunc
	wg   sync.WaitGroup
	done chan struct{} // closed by stop: ends the clock
	// reread asks the watcher of a cluster's slot map to read it now: a
	// replica's connection has seen a write, so it was promoted.
	reread chan struct{}

	mu       sync.Mutex
	watchers map[string]*watcher // by the server's address
	lastErr  error               // why a connection ended last
}

func startNearConns(n *Near, src nearSource) *nearConns {
	c := &nearConns{near: n, src: src, watchers: map[string]*watcher{}, done: make(chan struct{}), reread: make(chan struct{}, 1)}
	c.ctx, c.halt = context.WithCancel(context.Background())
	n.clock.set(time.Now())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		n.clock.run(c.done)
	}()
	if src.cluster == nil {
		c.reconcile(topology{nodes: map[string]*redis.Options{src.single.Addr: src.single}})
	} else {
		c.wg.Add(1)
		go c.watchTopology()
	}
	return c
}

// stop ends every connection and goroutine, and waits for them.
func (c *nearConns) stop() {
	c.halt()
	close(c.done)
	c.mu.Lock()
	for _, w := range c.watchers {
		w.halt()
		if w.ps != nil {
			w.ps.Close() // ends a read in progress now, not at its timeout
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.near.routes.Store(nil)
	c.near.flushAll()
}

// counts returns the connections wanted and up, whether all serve at now,
// and why one ended last.
func (c *nearConns) counts(now int64) (wanted, up int, serving bool, lastErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	serving = len(c.watchers) > 0
	for _, w := range c.watchers {
		if w.up {
			up++
		}
		serving = serving && now < w.aliveUntil
	}
	return len(c.watchers), up, serving, c.lastErr
}

// retrack remakes every connection, so that it tracks the current prefixes;
// nothing is served or kept until they are up again.
func (c *nearConns) retrack() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.watchers {
		w.aliveUntil = 0
		w.serveUntil.Store(0)
		w.epoch.Add(1)
		w.up = false
		w.gen++ // what the session says from now on is of the old prefixes
		if w.ps != nil {
			w.ps.Close()
		}
	}
	c.near.flushAll()
}

// watchTopology follows a cluster's masters and slot map.
func (c *nearConns) watchTopology() {
	defer c.wg.Done()
	t := time.NewTicker(topologyPoll)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(c.ctx, topologyPoll)
		top, err := c.src.topology(ctx)
		cancel()
		if err == nil {
			c.reconcile(top)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.reread:
		}
	}
}

// reconcile starts a watcher for each new server, stops those of servers
// gone, groups each master's with its replicas', publishes which connection
// covers which slot, and drops the entries whose slot is now covered by
// another connection (a failover or a slot migration): their master's
// invalidations no longer reach the one that covered them.
func (c *nearConns) reconcile(top topology) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	for addr, w := range c.watchers {
		if top.nodes[addr] == nil {
			w.halt()
			if w.ps != nil {
				w.ps.Close()
			}
			delete(c.watchers, addr)
		}
	}
	for addr, o := range top.nodes {
		if c.watchers[addr] != nil {
			continue
		}
		ctx, halt := context.WithCancel(c.ctx)
		w := &watcher{c: c, opts: o, halt: halt}
		c.watchers[addr] = w
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			w.run(ctx)
		}()
	}
	for _, w := range c.watchers {
		w.primary, w.standbys = nil, nil
	}
	for master, replicas := range top.replicas {
		m := c.watchers[master]
		for _, r := range replicas {
			if s := c.watchers[r]; s != nil && m != nil && s != m {
				s.primary = m
				m.standbys = append(m.standbys, s)
			}
		}
	}
	for _, w := range c.watchers {
		w.standby.Store(w.primary != nil)
		// A promotion is over once the slot map no longer lists the
		// replica as one; a node that still answers the old map is given
		// a few reads.
		if w.primary == nil || time.Since(w.promotedAt) > promotionGrace {
			w.promotedAt = time.Time{}
		}
	}
	for _, w := range c.watchers {
		w.publishLocked()
	}
	routes := &nearRoutes{}
	if top.slots == nil {
		for _, w := range c.watchers {
			routes.single = w
		}
	} else {
		routes.slots = make([]*watcher, 16384)
		for _, r := range top.slots {
			for s := max(r.start, 0); s <= min(r.end, 16383); s++ {
				routes.slots[s] = c.watchers[r.addr]
			}
		}
	}
	old := c.near.routes.Load()
	if old != nil && slices.Equal(old.slots, routes.slots) && old.single == routes.single {
		return
	}
	// First the new routes, so that a fill from now on checks them; then
	// the entries whose connection changed, filled before.
	c.near.routes.Store(routes)
	if old != nil {
		c.near.dropWhere(func(rkey string, owner *watcher) bool { return routes.of(rkey) != owner })
		c.near.moves.Add(1)
	}
}
