package redisguard

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/wire"
)

// node supervises one server: its state, its reconnect schedule, its single
// prober and its circuit breaker. A standalone client has one node, a Sentinel
// client one node whose address moves with the master, a cluster client one
// node per server go-redis routes to. Whatever one node does, the others are
// untouched: a command routed to a node that is down fails fast, and only that
// node's supervisor dials it.
type node struct {
	// What every command reads comes first, together.
	c     *Client
	state atomic.Int32 // a State
	// gen counts the moves of a Sentinel master to another server: a
	// connection dialed before the last move refuses to write.
	gen     atomic.Uint32
	breaker atomic.Pointer[circuit.Breaker] // nil when Options.DisableBreaker
	// slowReplies counts slow calls the connections measured while the
	// breaker was half-open, which no probe has been charged with yet: probes
	// finishing on the node take them one each, so that the breaker counts as
	// many slow calls as there were, whichever probe it charges. (While
	// closed, the connections count them on the breaker themselves.)
	slowReplies atomic.Int64

	prober prober
	// master: the node is a Sentinel master, whose address moves; a READONLY
	// reply means it was demoted, and the supervisor finds the new one.
	master bool

	addr   atomic.Pointer[string]
	client atomic.Pointer[redis.Client] // the go-redis client of the node (go-redis may replace a cluster's)
	dials  admission.DialGate
	// replacing counts the connections being opened in the background for
	// ones go-redis threw away while the server answered them (see replace).
	replacing atomic.Int32
	// openedAt is the reply clock's latest event when the breaker last
	// opened from closed: a request whose write recorded an earlier one was
	// written before, and its reply, when it comes, judges the server as it
	// was then (see answered).
	openedAt atomic.Uint64
	// gate: the node's go-redis client answers reads from its client-side
	// cache, behind this networkGate (see fromcache.go); nil when it has none.
	gate *networkGate
	// probePasses counts the probes of the half-open breaker that the
	// networkGate has yet to let through.
	probePasses atomic.Int32
	// judgeLimit: a reply is judged for slowness only when go-redis waits for it
	// no longer than this (its ReadTimeout), which leaves out blocking commands;
	// zero when go-redis sets no read deadline, and no reply is judged slow.
	judgeLimit time.Duration
	// lastFailure is the last outcome the breaker counted as a failure;
	// openRefusal, what commands get while it is open (see openError).
	lastFailure atomic.Pointer[error]
	openRefusal atomic.Pointer[openError]
	// breakerSince is when the breaker last changed state, or was made
	// (Unix nanoseconds): what BreakerStatus.Since reports.
	breakerSince atomic.Int64
	// replies spares the connections the system clock at most replies; nil
	// without a breaker, which is all they time replies for.
	replies *wire.Clock
	// ep is what the node's connections share (see connOwner).
	ep *wire.Endpoint

	exhausted atomic.Bool // the strategy gave up on this node (a cluster node keeps probing)
	// switchUntil (unix nanoseconds, 0 for none) ends the window in which a
	// Sentinel master that switched is being found again: until then, or
	// until it is ready, commands wait for it within their own deadlines
	// instead of being refused.
	switchUntil atomic.Int64
	// resolving: a Sentinel master was lost, and the first attempt, at
	// once, asks the sentinels where it is (a failover drops the old
	// master's connections): commands wait for its outcome.
	resolving atomic.Bool
	// demotedFrom is the last master found demoted (READONLY); lostFrom,
	// the last one lost or announced replaced, which the sentinels that
	// have not caught up with a failover still name.
	demotedFrom atomic.Pointer[string]
	lostFrom    atomic.Pointer[string]
	retired     atomic.Bool // the cluster's slot map no longer names this node

	// conns are the open connections of a node whose server may be
	// replaced (a Sentinel master), which a switch cuts at once.
	connsMu sync.Mutex
	conns   map[*wire.Conn]struct{}

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change of state and failed attempt
	lastErr error         // the last connection error, redacted
	refusal error         // what commands get while the node is not ready
	wake    chan struct{} // makes the supervisor attempt at once (a new master was announced)
	// cancelAttempt ends the attempt in progress (a new master was announced).
	cancelAttempt context.CancelFunc
	running       bool // a supervisor goroutine is at work
	attempts      int  // failed attempts since the node was last ready
}

func newNode(c *Client, addr string, p prober, judgeLimit time.Duration, poolSize int) *node {
	n := &node{
		c:          c,
		prober:     p,
		judgeLimit: judgeLimit,
		changed:    make(chan struct{}),
		wake:       make(chan struct{}, 1),
	}
	n.addr.Store(&addr)
	n.dials.Init(poolSize, c.cfg.dialRate, ErrClosed)
	n.newBreaker()
	if s := c.cfg.breaker; s != nil {
		// A retired node's clock stops at its next tick: only commands routed
		// to it again start it.
		busy := func() bool { return !n.retired.Load() && c.queue.Len() > 0 }
		n.replies = wire.NewClock(c.clock, slowCallThreshold(s.SlowCallThreshold, judgeLimit), busy)
	}
	n.ep = &wire.Endpoint{
		Owner:      (*connOwner)(n),
		Gen:        &n.gen,
		Clock:      n.replies,
		Limits:     &c.cfg.limits,
		Drainer:    c.drainer,
		Now:        c.clock,
		JudgeLimit: judgeLimit,
		MaxDrains:  int32(n.dials.Burst()),
	}
	if n.replies != nil {
		n.ep.LongWait = judgeLimit + wire.JudgeSlack + n.replies.Period()
	}
	return n
}

func (n *node) address() string { return *n.addr.Load() }

func (n *node) State() State { return State(n.state.Load()) }

// snapshot returns the node's state, the channel closed at its next change, and
// its last connection error, consistently.
func (n *node) snapshot() (State, <-chan struct{}, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.State(), n.changed, n.lastErr
}

// setStateLocked changes the state, rebuilds the refusal commands get and wakes
// every waiter. n.mu must be held.
func (n *node) setStateLocked(s State) {
	n.state.Store(int32(s))
	n.refusal = newNotReady(n.address(), s, n.lastErr)
	n.notifyLocked()
}

func (n *node) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// refused returns the error a command routed to this node gets while it is not
// ready. It is built at each change of state, so refusing allocates nothing.
func (n *node) refused() error {
	if n.State() == StateClosed {
		return n.c.closedErr()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.refusal
}

// lost moves a ready node to reconnecting and starts its supervisor. In any
// other state the supervisor is already at work, or done.
func (n *node) lost(cause error) {
	cause = n.c.redactErr(cause)
	n.mu.Lock()
	if st := n.State(); st != StateReady && (st != StateReconnecting || !n.retired.Load()) {
		n.mu.Unlock()
		return
	}
	n.lastErr = cause
	n.retired.Store(false)
	resolve := n.master && n.c.sentinels != nil
	if resolve {
		n.resolving.Store(true)
		addr := n.address()
		n.lostFrom.Store(&addr)
	}
	n.setStateLocked(StateReconnecting)
	start := !n.running
	n.running = true
	n.mu.Unlock()
	n.c.nodeChanged(n)
	if n.c.cluster != nil {
		n.c.cluster.nodeLost()
	}
	if start {
		n.c.goBackground(func() { n.supervise(cause) })
	}
	if resolve {
		n.hurry() // see resolving
	}
}

// rejoined takes back a node the slot map names again after it had retired
// it: a node that is down gets its supervisor back, attempting at once.
func (n *node) rejoined() {
	n.mu.Lock()
	start := n.State() == StateReconnecting && !n.running
	if start {
		n.running = true
	}
	cause := n.lastErr
	n.mu.Unlock()
	n.c.nodeChanged(n)
	if start && n.c.goBackground(func() { n.supervise(cause) }) {
		n.hurry()
	}
}

// retire takes the node out of supervision: the cluster's slot map no longer
// names it. Its supervisor stops (bySupervisor: it is the caller; otherwise a
// node whose supervisor is at work is left to it, and retire reports false),
// and every command waiting for its next attempt is woken and gets a
// refusal naming the retirement, which go-redis's cluster loop takes for a
// dial that failed: it routes the command anew.
func (n *node) retire(bySupervisor bool) bool {
	n.mu.Lock()
	if !bySupervisor && n.running {
		n.mu.Unlock()
		return false // its own supervisor decides, after its own attempt
	}
	n.running = false
	n.retired.Store(true)
	n.refusal = newRetiredError(n.address())
	n.notifyLocked()
	n.mu.Unlock()
	n.c.events.nodeRemoved(n.address())
	n.c.nodeChanged(n)
	return true
}

// hurry makes the supervisor attempt at once instead of waiting out its delay:
// a new master was announced.
func (n *node) hurry() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// becomeReady is the outcome of a successful attempt.
func (n *node) becomeReady() bool {
	n.mu.Lock()
	if n.State() == StateClosed {
		n.mu.Unlock()
		return false
	}
	n.attempts = 0
	n.switchUntil.Store(0)
	n.resolving.Store(false)
	n.exhausted.Store(false)
	n.retired.Store(false)
	n.lastErr = nil
	n.running = false
	n.setStateLocked(StateReady)
	n.mu.Unlock()
	n.c.events.nodeReady(n.address())
	n.c.nodeChanged(n)
	return true
}

// attemptFailed records a failed attempt and wakes the commands waiting for
// its outcome.
func (n *node) attemptFailed(cause error) {
	cause = n.c.redactErr(cause)
	n.resolving.Store(false)
	n.mu.Lock()
	n.attempts++
	n.lastErr = cause
	n.refusal = newNotReady(n.address(), n.State(), cause)
	n.notifyLocked()
	n.mu.Unlock()
	n.c.nodeChanged(n)
	n.c.events.nodeError(n.address(), cause)
}

// close ends the node with the client.
func (n *node) close() {
	if n.replies != nil {
		n.replies.Stop()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.running = false
	n.setStateLocked(StateClosed)
}

// lastError returns the node's last connection error, or nil.
func (n *node) lastError() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastErr
}

// moveTo points a Sentinel master's node at the server now at addr: a new
// server with a fresh breaker. The connections to the old address are cut at
// once and refuse to write (what was never sent goes to the new master); what
// was in flight on them fails with a switchedError.
func (n *node) moveTo(addr string) {
	old := n.address()
	if addr == old {
		return
	}
	n.addr.Store(&addr)
	n.gen.Add(1)
	n.cutOld(old)
	n.slowReplies.Store(0)
	n.newBreaker()
	n.c.events.nodeRemoved(old)
}

// dialAddr is the address a pool dial of the node goes to: a Sentinel
// master's current address for the client New built, or what go-redis asks.
func (n *node) dialAddr(addr string) string {
	if n.c.sentinels != nil {
		return n.address()
	}
	return addr
}

// wrapConn wraps a connection the node's pool just dialed under the address
// generation gen (see wire.Conn).
func (n *node) wrapConn(conn net.Conn, gen uint32) net.Conn { return wire.Wrap(n.ep, conn, gen) }

// connOwner is a node as its connections see it: the wire.Owner they report
// to.
type connOwner node

func (o *connOwner) node() *node { return (*node)(o) }

func (o *connOwner) Address() string                           { return o.node().address() }
func (o *connOwner) Breaker() *circuit.Breaker                 { return o.breaker.Load() }
func (o *connOwner) Opened(c *wire.Conn)                       { o.node().track(c) }
func (o *connOwner) Closed(c *wire.Conn)                       { o.node().untrack(c) }
func (o *connOwner) Accepted()                                 { o.dials.Accepted() }
func (o *connOwner) Refund()                                   { o.dials.Refund() }
func (o *connOwner) Replace()                                  { o.node().replace() }
func (o *connOwner) Slow(b *circuit.Breaker, stamp uint64)     { o.node().chargeSlow(b, stamp) }
func (o *connOwner) Answered(b *circuit.Breaker, stamp uint64) { o.node().answered(b, stamp) }
func (o *connOwner) AfterSwitch(c *wire.Conn, p []byte, n int, err error) (int, error) {
	return o.node().afterSwitch(c, p, n, err)
}

// chargeSlow counts one slow call of the node's server, on the request whose
// write recorded stamp, on b. While b is half-open, it is left for the next
// probe to finish, which is charged with it (see verdict): a half-open
// breaker judges its probes alone. A request written before the breaker
// opened is not: it judges the server as it was then, which the breaker did.
func (n *node) chargeSlow(b *circuit.Breaker, stamp uint64) {
	if !b.Record(breaker.ErrSlowCall) && b.State() == circuit.StateHalfOpen && !n.writtenBeforeOpening(stamp) {
		n.slowReplies.Add(1)
	}
}

// takeSlowReply charges the calling command with one of the node's slow
// replies, if there is one.
func (n *node) takeSlowReply() bool {
	for {
		v := n.slowReplies.Load()
		if v <= 0 {
			return false
		}
		if n.slowReplies.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
