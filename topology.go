package redisguard

import (
	"context"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// pruneTimeout bounds a reload of the slot map: go-redis asks one node after
// another, and a paused one must not hold the supervisor that asked.
const pruneTimeout = time.Second

// The watch's schedule while a node is down: a reload of the slot map and a
// look at the nodes the cluster sees, watchMin after a change (a node lost,
// back, or seen anew by the cluster), then twice as long after every look
// that saw nothing change, up to watchMax, each wait times a random factor in
// [1−watchJitter, 1+watchJitter] so that many clients do not ask together.
// While nothing changes, a client thus sends the cluster two commands every
// watchMax or so (CLUSTER SLOTS and CLUSTER NODES, each to a live node drawn
// at random), whatever the number of nodes down.
const (
	watchMin    = 500 * time.Millisecond
	watchMax    = 5 * time.Second
	watchJitter = 0.2
)

// supervisorMapAge is how old a slot map a supervisor's failed attempt may
// judge its node by (see prune): the watch loads one often enough while a
// node is down, and a supervisor need not load its own on every attempt.
const supervisorMapAge = time.Second

// nodeLost reacts to the loss of a node: go-redis reloads the slot map at
// once (the node's slots may be served by a promoted replica already), and
// until every node is back or retired, a watcher reloads it again on its
// schedule and asks the cluster which nodes it sees: a node the cluster sees
// again gets its next attempt at once instead of after its delay, so that a
// restarted node serves as soon as it is back.
func (r *clusterNodes) nodeLost() {
	r.cc.ReloadState(context.Background())
	select {
	case r.changed <- struct{}{}: // a watch at work looks again soon
	default:
	}
	if !r.watching.CompareAndSwap(false, true) {
		return
	}
	if !r.c.goBackground(r.watch) {
		r.watching.Store(false)
	}
}

func (r *clusterNodes) watch() {
	defer r.watching.Store(false)
	interval := watchMin
	var last string
	for {
		t := time.NewTimer(jittered(interval))
		select {
		case <-r.c.ctx.Done():
			t.Stop()
			return
		case <-r.changed:
			t.Stop()
			interval, last = watchMin, ""
			continue
		case <-t.C:
		}
		down := r.down()
		if len(down) == 0 {
			return
		}
		r.prune(nil, 0)
		seen := r.seenByTheCluster()
		for _, n := range down {
			if seen[n.address()] {
				n.hurry()
			}
		}
		if view := watchView(down, seen); view != last {
			interval, last = watchMin, view
		} else {
			interval = min(2*interval, watchMax)
		}
	}
}

// jittered returns d times a random factor in [1−watchJitter, 1+watchJitter].
func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 - watchJitter + 2*watchJitter*rand.Float64()))
}

// watchView sums up what a look of the watch saw, to tell whether anything
// changed since the last: the nodes down and the nodes the cluster sees.
func watchView(down []*node, seen map[string]bool) string {
	var b strings.Builder
	for _, n := range down {
		b.WriteString(n.address())
		b.WriteByte(' ')
	}
	b.WriteByte('|')
	for _, addr := range slices.Sorted(maps.Keys(seen)) {
		b.WriteString(addr)
		b.WriteByte(' ')
	}
	return b.String()
}

// down returns the nodes being reconnected.
func (r *clusterNodes) down() []*node {
	var down []*node
	for _, n := range r.list() {
		if n.State() == StateReconnecting && !n.retired.Load() {
			down = append(down, n)
		}
	}
	return down
}

// seenByTheCluster asks a ready node, drawn at random, which nodes the
// cluster bus is connected to and does not flag as failing.
func (r *clusterNodes) seenByTheCluster() map[string]bool {
	nodes := r.list()
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	for _, n := range nodes {
		rdb := n.client.Load()
		if n.State() != StateReady || rdb == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(r.c.ctx, r.c.cfg.connectTimeout)
		nodes, err := rdb.ClusterNodes(ctx).Result()
		cancel()
		if err != nil {
			continue
		}
		return connectedNodes(nodes)
	}
	return nil
}

// connectedNodes parses CLUSTER NODES: "<id> <ip:port@cport[,hostname]>
// <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state>
// <slot> …", keeping the addresses whose link is connected and whose flags
// say neither fail nor fail?.
func connectedNodes(reply string) map[string]bool {
	seen := make(map[string]bool)
	for line := range strings.Lines(reply) {
		f := strings.Fields(line)
		if len(f) < 8 || f[7] != "connected" {
			continue
		}
		flags := strings.Split(f[2], ",")
		if slices.Contains(flags, "fail") || slices.Contains(flags, "fail?") || slices.Contains(flags, "noaddr") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		seen[addr] = true
	}
	return seen
}

// retireIfForgotten reloads a cluster's slot map, after a failed attempt on n,
// and retires every node the map no longer names (a master whose replica was
// promoted, a replica that failed, a seed known by another name): its
// supervisor stops, OnNodeRemoved fires, and it no longer counts towards the
// client's state. go-redis routes to a retired node only once the map names it
// again, and then its first command tries it. It reports whether n was retired.
func (c *Client) retireIfForgotten(n *node) bool {
	if c.cluster == nil {
		return false
	}
	return c.cluster.prune(n, supervisorMapAge)
}

// prune retires the nodes the slot map does not name, after reloading it
// (unless it was loaded less than maxAge ago), and reports whether n is one
// of them (with n nil: whether the map was loaded). A map that cannot be
// loaded retires none. With n, the supervisor of n asks: n is judged at
// once, the other nodes by the pass that takes in maps in the background
// (see follow), so that hundreds of supervisors failing at once (a cluster
// whose map names many dead nodes) do not each wait for a pass over every
// node.
func (r *clusterNodes) prune(n *node, maxAge time.Duration) bool {
	named, loaded := r.slotMap(maxAge)
	if len(named) == 0 {
		return false
	}
	defer func() {
		if !r.mapKnown.Swap(true) {
			r.info.fetch()
			r.c.nodeChanged(nil)
		}
	}()
	if n == nil {
		r.retireUnnamed(named)
		return true
	}
	if loaded { // a map loaded earlier was taken in then
		r.takeIn(named)
	}
	if named[n.address()] {
		return false
	}
	r.retireMu.Lock()
	defer r.retireMu.Unlock()
	return n.retire(true)
}

// retireUnnamed retires the nodes named leaves out, but for those whose
// supervisor is at work (it asks for itself: see prune), and takes back
// those it names again.
func (r *clusterNodes) retireUnnamed(named map[string]bool) {
	r.retireMu.Lock()
	defer r.retireMu.Unlock()
	for _, m := range r.list() {
		if named[m.address()] {
			if m.retired.CompareAndSwap(true, false) {
				m.rejoined() // back in the map
			}
			continue
		}
		if !m.retired.Load() {
			m.retire(false)
		}
	}
}

// slotMap returns the addresses of the nodes the slot map names, masters and
// replicas, loaded at most maxAge ago (go-redis sends CLUSTER SLOTS to a node
// drawn at random), or nil when it cannot be loaded; loaded says whether
// this call loaded it.
func (r *clusterNodes) slotMap(maxAge time.Duration) (named map[string]bool, loaded bool) {
	r.mapMu.Lock()
	defer r.mapMu.Unlock()
	if r.named != nil && time.Since(r.namedAt) < maxAge {
		return r.named, false
	}
	ctx, cancel := context.WithTimeout(r.c.ctx, min(r.c.cfg.connectTimeout, pruneTimeout))
	defer cancel()
	var mu sync.Mutex
	named = make(map[string]bool)
	err := r.cc.ForEachShard(ctx, func(_ context.Context, rdb *redis.Client) error {
		mu.Lock()
		named[rdb.Options().Addr] = true
		mu.Unlock()
		return nil
	})
	if err != nil || len(named) == 0 {
		return nil, false
	}
	r.named, r.namedAt = named, time.Now()
	return named, true
}

// follow takes in a slot map go-redis loaded: every reload (its own every
// ClusterStateReloadInterval, after a MOVED, the watch's) sends CLUSTER SLOTS
// through a node's hook, whose reply origin gave. The nodes the map leaves
// out retire and those it names again come back at once, without a command
// of the guard's own: a replica that was replaced, which no command reaches,
// leaves Nodes() and the metrics when go-redis forgets it. Addresses are
// read as go-redis reads them; a map that does not name the node that
// answered it is read some other way (an address translation of its own)
// and is left alone. One goroutine at a time takes the maps in, the latest
// first: reloads that come faster than a pass (a churning cluster reloads on
// every MOVED) are taken in as one, instead of a goroutine each waiting its
// turn.
func (r *clusterNodes) follow(origin string, slots []redis.ClusterSlot) {
	named := namedBy(origin, slots)
	if !named[origin] {
		return
	}
	r.takeIn(named)
}

// takeIn has the nodes named leaves out retired, and those it names again
// taken back, in the background.
func (r *clusterNodes) takeIn(named map[string]bool) {
	if r.followed.Swap(&named) == nil && !r.c.goBackground(r.takeInFollowed) {
		r.followed.Store(nil)
	}
}

// takeInFollowed retires the nodes the latest followed map leaves out, until
// no newer one came meanwhile.
func (r *clusterNodes) takeInFollowed() {
	for {
		named := r.followed.Load()
		r.retireUnnamed(*named)
		if r.followed.CompareAndSwap(named, nil) {
			return
		}
	}
}

// namedBy returns the addresses a CLUSTER SLOTS reply from origin names, as
// go-redis reads them: a loopback address stands for origin's host unless
// origin is itself on a loopback address, and port 0 for origin's port.
func namedBy(origin string, slots []redis.ClusterSlot) map[string]bool {
	host, port, _ := net.SplitHostPort(origin)
	named := make(map[string]bool)
	for _, s := range slots {
		for _, n := range s.Nodes {
			addr := n.Addr
			if h, p, err := net.SplitHostPort(addr); err == nil {
				if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() && !loopbackHost(host) {
					h = host
				}
				if p == "0" && port != "" && port != "0" {
					p = port
				}
				addr = net.JoinHostPort(h, p)
			}
			named[addr] = true
		}
	}
	return named
}

// loopbackHost reports whether go-redis takes host for a loopback one.
func loopbackHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".docker.internal")
}
