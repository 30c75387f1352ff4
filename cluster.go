package redisguard

import (
	"context"
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
	// followed is the latest map go-redis loaded that no pass has taken in
	// yet, nil when none waits (see follow).
	followed atomic.Pointer[map[string]bool]
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

// clusterHook guards a cluster client as a whole: closed and the queue limit.
// The nodes' hooks do the rest.
type clusterHook struct{ c *Client }

func (clusterHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h clusterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	c := h.c
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := c.admit(); err != nil {
			return c.refuse(cmd, err)
		}
		err := next(markSent(ctx, cmd), cmd)
		if e, ok := err.(*notRetriedError); ok {
			err = e.err
			cmd.SetErr(err)
		}
		c.release()
		return err
	}
}

func (h clusterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	c := h.c
	return func(ctx context.Context, cmds []redis.Cmder) error {
		admitted, held, err := c.admitBatch(cmds)
		if err != nil {
			return c.refuseAll(cmds, err)
		}
		err = next(ctx, cmds[:admitted])
		c.releaseHold(held)
		return firstErr(err, cmds)
	}
}

// nodeHook guards one node client of a cluster. The cluster's own retry loop
// runs around it: the hook hides from that loop the failures after which a
// write may already have been applied, and refuses to send again a batch the
// loop re-queued after its connection broke.
type nodeHook struct{ n *node }

func (h nodeHook) DialHook(next redis.DialHook) redis.DialHook { return h.n.dial(next) }

func (h nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	s := &nodeCommands{n: h.n, next: next} // see the solo hook
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.(type) {
		case *redis.CommandsInfoCmd, *redis.ClusterSlotsCmd:
			return s.clusterInternal(ctx, cmd)
		}
		if isSetup(cmd) {
			return s.n.handshakeFailed(ctx, s.next(ctx, cmd))
		}
		if err := s.n.process(ctx, cmd, s.next); err != nil {
			return s.n.notRetried(ctx, cmd, err)
		}
		return nil
	}
}

// nodeCommands is what a cluster node's hook runs commands with.
type nodeCommands struct {
	n    *node
	next redis.ProcessHook
}

// clusterInternal runs a COMMAND or CLUSTER SLOTS on the node: go-redis's
// own fetches of what it needs to know of the cluster are answered apart (see
// commandInfo, slotsFetch), and the slot map a node sends is followed.
func (s *nodeCommands) clusterInternal(ctx context.Context, cmd redis.Cmder) error {
	n := s.n
	if info := infoFetch(ctx, cmd); info != nil {
		return n.c.cluster.info.answer(info) // see commandInfo
	}
	ctx, err := n.slotsFetch(ctx, cmd)
	if err != nil {
		return err
	}
	err = n.process(ctx, cmd, s.next)
	if slots, ok := cmd.(*redis.ClusterSlotsCmd); ok && err == nil {
		n.c.cluster.follow(n.address(), slots.Val())
	}
	if err != nil {
		return n.notRetried(ctx, cmd, err)
	}
	return nil
}

// notRetried hides from the cluster's retry loop a failure after which a
// write may already have been applied, and the refusal of a node that is down
// (see refusedForNow).
func (n *node) notRetried(ctx context.Context, cmd redis.Cmder, err error) error {
	if !readOnly(cmd) {
		if _, row := classify(ctx, err); row.MayHaveRun {
			return &notRetriedError{err}
		}
	}
	if n.refusedForNow(err) && !(readOnly(cmd) && n.c.cluster.replicaReads()) {
		// The node is down and its supervisor on it: the cluster's loop
		// would only ask it again after a backoff. (A read it may route
		// to a replica goes on.)
		return &notRetriedError{err}
	}
	return err
}

// refusedForNow reports whether err is the node's refusal while it is down,
// which holds until its supervisor brings it back: not the refusal of a node
// the slot map dropped, whose command goes elsewhere.
func (n *node) refusedForNow(err error) bool {
	return err != nil && isNotReady(err) && !isRetired(err)
}

func (h nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	n := h.n
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if allConnectionSetup(cmds) {
			return n.handshakeFailed(ctx, next(ctx, cmds))
		}
		if err := resentAfterBreak(ctx, cmds); err != nil {
			return err
		}
		return n.processBatch(ctx, cmds, next, false)
	}
}

// resentAfterBreak returns the error of a batch's earlier attempt when the
// cluster re-queued a batch that may have been applied (its connection broke
// after the write) and that holds a write: sending it again could apply the
// write twice. The commands still carry their errors from that attempt.
func resentAfterBreak(ctx context.Context, cmds []redis.Cmder) error {
	if allReadOnly(cmds) {
		return nil
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			if _, row := classify(ctx, err); row.MayHaveRun {
				return err
			}
		}
	}
	return nil
}

// notRetriedError carries a node's error up to the client's hook without
// letting the cluster's retry loop recognise it as retryable: it deliberately
// has no Unwrap. The client's hook replaces it with the error it carries.
type notRetriedError struct{ err error }

func (e *notRetriedError) Error() string { return e.err.Error() }
