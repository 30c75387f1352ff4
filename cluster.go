package redisguard

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodes are the nodes of a cluster client, one per server address:
// the configured seed addresses from the start, then every node go-redis creates for
// its slot map (ClusterClient.OnNewNode). A node keeps its state, schedule
// and breaker when go-redis replaces its client.
type clusterNodes struct {
	c        *Client
	cc       *redis.ClusterClient
	opt      *redis.ClusterOptions
	mapKnown atomic.Bool // the slot map was loaded once: the configured addresses did their job
	learning atomic.Bool // a goroutine is loading the first slot map
	watching atomic.Bool // a goroutine watches the cluster while a node is down
	// changed tells the watch that a node was lost: it looks again soon.
	changed chan struct{}
	mu      sync.Mutex
	byAd    map[string]*node
	// mapMu serialises the loads of the slot map; named is the last one
	// loaded, at namedAt.
	mapMu   sync.Mutex
	named   map[string]bool
	namedAt time.Time
	// retireMu serialises the passes that retire the nodes a map leaves out.
	retireMu sync.Mutex
	info     commandInfo // go-redis's COMMAND info, fetched by the guard
}

// startCluster supervises the nodes of a cluster client: the configured addresses make their
// first connection attempts at once, in parallel; nodes go-redis discovers
// later start ready, and are supervised from their first failure.
func (c *Client) startCluster(cc *redis.ClusterClient, seeds []string) {
	r := &clusterNodes{c: c, cc: cc, opt: cc.Options(), byAd: make(map[string]*node), changed: make(chan struct{}, 1)}
	r.info.r = r
	c.cluster = r
	c.events.cluster.Store(true)
	cc.AddHook(clusterHook{c})
	var first []*node
	for _, addr := range seeds {
		if _, ok := r.byAd[addr]; ok {
			continue
		}
		n := r.newNode(addr, seedOptions(r.opt, addr))
		n.running = true
		r.byAd[addr] = n
		first = append(first, n)
	}
	cc.OnNewNode(r.onNewNode)
	for _, n := range first {
		c.goBackground(func() { n.supervise(nil) })
	}
}

func (r *clusterNodes) newNode(addr string, opt *redis.Options) *node {
	return newNode(r.c, addr, dialProber{opt: opt, addr: addr}, judgeLimit(r.opt.ReadTimeout), r.opt.PoolSize)
}

// seedOptions are the options of a seed's probes before go-redis made a client
// for it: the cluster's dialer and credentials.
func seedOptions(o *redis.ClusterOptions, addr string) *redis.Options {
	dial := o.Dialer
	if dial == nil {
		dial = redis.NewDialer(&redis.Options{DialTimeout: o.DialTimeout, TLSConfig: o.TLSConfig})
	}
	return &redis.Options{
		Network:                      "tcp",
		Addr:                         addr,
		Dialer:                       dial,
		Username:                     o.Username,
		Password:                     o.Password,
		CredentialsProvider:          o.CredentialsProvider,
		CredentialsProviderContext:   o.CredentialsProviderContext,
		StreamingCredentialsProvider: o.StreamingCredentialsProvider,
		Protocol:                     o.Protocol,
		ClientName:                   o.ClientName,
		DisableIdentity:              o.DisableIdentity,
	}
}

// onNewNode binds a node client go-redis created to the node of its address,
// and guards it. It runs under go-redis's lock of its node table: it must not
// block.
func (r *clusterNodes) onNewNode(rdb *redis.Client) {
	opt := rdb.Options()
	r.mu.Lock()
	n, ok := r.byAd[opt.Addr]
	if !ok {
		n = r.newNode(opt.Addr, opt)
		n.state.Store(int32(StateReady)) // discovered through a node that answers
		r.byAd[opt.Addr] = n
	}
	r.mu.Unlock()
	n.client.Store(rdb)
	rdb.AddHook(nodeHook{n})
	if !ok {
		r.c.events.nodeReady(opt.Addr)
	} else if n.retired.CompareAndSwap(true, false) {
		// go-redis made a new client for a node it had dropped: its slot map
		// names the node again.
		r.c.goBackground(n.rejoined)
	}
}

// replicaReads reports whether go-redis may route a read to a replica.
func (r *clusterNodes) replicaReads() bool {
	return r.opt.ReadOnly || r.opt.RouteByLatency || r.opt.RouteRandomly
}

// list returns the nodes in address order.
func (r *clusterNodes) list() []*node {
	r.mu.Lock()
	defer r.mu.Unlock()
	nodes := make([]*node, 0, len(r.byAd))
	for _, n := range r.byAd {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b *node) int { return strings.Compare(a.address(), b.address()) })
	return nodes
}

// derive is the cluster client's state: ready while a node of the slot map
// is; before the map is known, connecting while a seed is (or answered, and
// the map is being loaded); reconnecting otherwise.
func (r *clusterNodes) derive(everReady bool) State {
	connecting := false
	for _, n := range r.list() {
		if n.retired.Load() {
			continue
		}
		switch n.State() {
		case StateReady:
			if r.mapKnown.Load() {
				return StateReady
			}
			connecting = true
			r.learnMap()
		case StateConnecting:
			connecting = true
		}
	}
	if connecting && !everReady {
		return StateConnecting
	}
	return StateReconnecting
}

// learnMap loads the first slot map in the background, once a seed answered,
// retrying until it succeeds or the client closes.
func (r *clusterNodes) learnMap() {
	if !r.learning.CompareAndSwap(false, true) {
		return
	}
	r.c.goBackground(func() {
		for delay := 50 * time.Millisecond; !r.prune(nil, 0); delay = min(2*delay, time.Second) {
			if r.mapKnown.Load() || sleep(r.c.ctx, delay) != nil {
				return
			}
		}
		// A replica that synced a moment ago is left out of CLUSTER SLOTS
		// until the node asked has heard its replication offset, by gossip
		// within about half the cluster's node timeout: while a node the map
		// left out still answers, the map is looked at again on the watch's
		// schedule, for about the default node timeout (15 s).
		interval := watchMin
		for range recheckLooks {
			if !r.retiredAnswering() || sleep(r.c.ctx, jittered(interval)) != nil {
				return
			}
			r.prune(nil, 0)
			interval = min(2*interval, watchMax)
		}
	})
}

// recheckLooks bounds the looks at the slot map after the first one while it
// leaves out a node that answers: 0.5, 1, 2, 4, 5 and 5 s apart.
const recheckLooks = 6

// retiredAnswering reports whether a node the slot map left out is ready: a
// replica the map will name once the cluster has heard of it, or a
// configured address the map names otherwise.
func (r *clusterNodes) retiredAnswering() bool {
	for _, n := range r.list() {
		if n.retired.Load() && n.State() == StateReady {
			return true
		}
	}
	return false
}

// allExhausted reports whether the reconnect strategy gave up on every node
// the cluster still names.
func (r *clusterNodes) allExhausted() bool {
	for _, n := range r.list() {
		if !n.retired.Load() && !n.exhausted.Load() {
			return false
		}
	}
	return true
}

// lastError returns the last connection error of a node of the slot map that
// is down.
func (r *clusterNodes) lastError() error {
	for _, n := range r.list() {
		if n.retired.Load() {
			continue
		}
		if err := n.lastError(); err != nil {
			return err
		}
	}
	return nil
}

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
// loaded retires none.
func (r *clusterNodes) prune(n *node, maxAge time.Duration) bool {
	named := r.slotMap(maxAge)
	if len(named) == 0 {
		return false
	}
	defer func() {
		if !r.mapKnown.Swap(true) {
			r.info.fetch()
			r.c.nodeChanged(nil)
		}
	}()
	return r.retireUnnamed(named, n) || n == nil
}

// retireUnnamed retires the nodes named leaves out and takes back those it
// names again; it reports whether n is one retired.
func (r *clusterNodes) retireUnnamed(named map[string]bool, n *node) bool {
	r.retireMu.Lock()
	defer r.retireMu.Unlock()
	retiredN := false
	for _, m := range r.list() {
		if named[m.address()] {
			if m.retired.CompareAndSwap(true, false) {
				m.rejoined() // back in the map
			}
			continue
		}
		if m.retired.Load() {
			continue
		}
		if m.retire(m == n) {
			retiredN = retiredN || m == n
		}
	}
	return retiredN
}

// slotMap returns the addresses of the nodes the slot map names, masters and
// replicas, loaded at most maxAge ago (go-redis sends CLUSTER SLOTS to a node
// drawn at random), or nil when it cannot be loaded.
func (r *clusterNodes) slotMap(maxAge time.Duration) map[string]bool {
	r.mapMu.Lock()
	defer r.mapMu.Unlock()
	if r.named != nil && time.Since(r.namedAt) < maxAge {
		return r.named
	}
	ctx, cancel := context.WithTimeout(r.c.ctx, min(r.c.cfg.connectTimeout, pruneTimeout))
	defer cancel()
	var mu sync.Mutex
	named := make(map[string]bool)
	err := r.cc.ForEachShard(ctx, func(_ context.Context, rdb *redis.Client) error {
		mu.Lock()
		named[rdb.Options().Addr] = true
		mu.Unlock()
		return nil
	})
	if err != nil || len(named) == 0 {
		return nil
	}
	r.named, r.namedAt = named, time.Now()
	return named
}
