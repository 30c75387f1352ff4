package redisguard

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/circuit"
)

// A go-redis client with client-side caching (ClientSideCacheConfig or
// ClientSideCache) answers reads from memory, invalidated by the server. Plain
// go-redis goes on answering them while the server is sick or gone, for as
// long as its cache keeps the entries; a guard that refused them would make
// the client less available than plain go-redis. So while a node refuses
// commands (it is not ready, or its breaker is not closed), a read on such a
// client is first offered to go-redis, whose cache answers it, and a
// networkGate in the client's Limiter refuses every use of the network that
// the node did not admit: a miss then gets the node's refusal, exactly as if
// the cache had not been asked.

// A hit from go-redis's cache takes no queue slot: it waits for nothing and
// leaves nothing queued, and a slot (an atomic add and subtract on memory
// other cores write) would be most of what the guard costs it. Options.QueueLimit
// still bounds every command that waits or reaches the server: while the node
// serves, the networkGate takes the slot of each use of the network and gives
// it back when go-redis reports its result; a command that waits in the
// guard (for the node, or to run again) holds one from the client's queue,
// and lends it to the network use it then makes (see processCacheFirst).

// cachesReads reports whether a go-redis client with these options answers
// reads from a client-side cache.
func cachesReads(opt *redis.Options) bool {
	return opt.ClientSideCacheConfig != nil || opt.ClientSideCache != nil
}

// networkGate is the go-redis Limiter of a node whose client caches reads: it
// refuses a connection to any command while the node refuses commands, except
// to the probes its half-open breaker admitted. go-redis asks it before it
// takes a connection for a command, a pipeline, or a cache miss; the
// application's own Limiter, if any, is asked after it.
type networkGate struct {
	n    atomic.Pointer[node] // nil until the node exists: no refusal, no slot
	next redis.Limiter
	// slots: the queue slots of the uses of the network, set before n.
	slots *admission.NetworkSlots
}

// gateNetwork installs a networkGate in opt, in front of the Limiter it has.
func gateNetwork(opt *redis.Options) *networkGate {
	g := &networkGate{next: opt.Limiter}
	opt.Limiter = g
	return g
}

func (g *networkGate) Allow() error {
	n := g.n.Load()
	if n != nil {
		if err := n.networkRefusal(); err != nil {
			return err
		}
		if !g.slots.Take() {
			n.c.events.refused(ErrQueueFull)
			return ErrQueueFull
		}
	}
	if g.next != nil {
		if err := g.next.Allow(); err != nil {
			if n != nil {
				g.give(n.c)
			}
			return err
		}
	}
	return nil
}

func (g *networkGate) ReportResult(err error) {
	if n := g.n.Load(); n != nil {
		g.give(n.c)
	}
	if g.next != nil {
		g.next.ReportResult(err)
	}
}

// give gives back what the slots' Take took.
func (g *networkGate) give(c *Client) {
	if g.slots.Give() {
		c.signalDrained()
	}
}

// guardCache makes the node answer reads from the client-side cache of rdb
// while it refuses commands, when rdb has one. opt are rdb's options; gate is
// the networkGate New installed in them before building rdb, or nil for a
// client the application built, whose options get one now (as Wrap takes
// over its retries).
func (n *node) guardCache(opt *redis.Options, gate *networkGate) {
	if !cachesReads(opt) {
		return
	}
	if gate == nil {
		gate = gateNetwork(opt)
	}
	gate.slots = admission.NewNetworkSlots(n.c.queue)
	gate.n.Store(n)
	n.gate = gate
}

// refusesCommands reports whether the node turns commands away now: it is
// neither ready nor connecting, or its breaker is not closed.
func (n *node) refusesCommands() bool {
	if st := n.State(); st != StateReady && st != StateConnecting {
		return true
	}
	b := n.breaker.Load()
	return b != nil && b.State() != circuit.StateClosed
}

// networkRefusal is the networkGate's answer for the node: nil when a command
// may take a connection, or the refusal it gets. A half-open breaker lets
// through as many as the probes it admitted (see passProbe).
func (n *node) networkRefusal() error {
	if st := n.State(); st == StateReconnecting || st == StateClosed {
		return n.refused()
	}
	b := n.breaker.Load()
	if b == nil {
		return nil
	}
	switch b.State() {
	case circuit.StateOpen:
		return n.openErr()
	case circuit.StateHalfOpen:
		for {
			p := n.probePasses.Load()
			if p <= 0 {
				return n.openErr()
			}
			if n.probePasses.CompareAndSwap(p, p-1) {
				return nil
			}
		}
	}
	return nil
}

// passProbe lets the next use of the network through the node's networkGate
// while its breaker is half-open: t admitted a probe, which must reach the
// server.
func (n *node) passProbe(t circuit.Ticket) {
	if n.gate != nil && t.Probe() {
		n.probePasses.Add(1)
	}
}

// fromCache offers a read the node would refuse to go-redis's client-side
// cache. It reports whether the cache answered (or the command otherwise
// ended) and with what; false means the networkGate refused the miss, and the
// command goes on to the node's admission, which refuses it or, while the
// breaker is half-open, may make it a probe.
func (n *node) fromCache(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) (bool, error) {
	err := next(ctx, cmd)
	if isGateRefusal(err) {
		cmd.SetErr(nil)
		return false, nil
	}
	return true, err
}

// isGateRefusal reports whether err is a networkGate's refusal.
func isGateRefusal(err error) bool {
	return err != nil && (errors.Is(err, breaker.ErrOpen) || isNotReady(err) || errors.Is(err, ErrClosed))
}

// cacheFirst is the solo hook of a node whose go-redis client caches reads.
// While the node serves, a command goes to go-redis with nothing more than a
// few loads, so that a hit costs the guard next to nothing; its use of the
// network takes its queue slot at the networkGate.
func (s *soloCommands) cacheFirst() redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isSetup(cmd) {
			return s.n.setUp(ctx, cmd, s.next)
		}
		// Ready, open, and the breaker (if any) closed; the caller's context
		// is go-redis's to check, first thing.
		if s.n.State() != StateReady || s.n.c.State() == StateClosed {
			return s.n.processCacheFirst(ctx, cmd, s.next)
		}
		var ticket circuit.Ticket
		if b := s.n.breaker.Load(); b != nil {
			var closed bool
			if ticket, closed = b.AllowClosed(); !closed {
				return s.n.processCacheFirst(ctx, cmd, s.next)
			}
		}
		if err := s.next(ctx, cmd); err != nil || s.n.slowReplies.Load() != 0 {
			return s.n.servedCacheFirst(ctx, cmd, s.next, ticket, err)
		}
		return nil
	}
}

// processCacheFirst runs a command on a standalone or Sentinel node whose
// go-redis client caches reads, when the node does not serve at once (it is
// not ready, or its breaker is not closed): see cacheFirst. A command that
// may wait in the guard (for the node, or to run again after a failure) holds
// a slot from the client's queue, which it lends to its use of the network.
func (n *node) processCacheFirst(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	if err := n.c.admit(); err != nil {
		return n.c.refuse(cmd, err)
	}
	n.gate.slots.Lend()
	err := n.process(ctx, cmd, next)
	n.settle()
	return err
}

// servedCacheFirst finishes a command the cacheFirst hook handed straight to
// go-redis with ticket, when it failed or slow replies are pending: a failure
// of a connection's set-up goes where every set-up failure goes
// (handshakeFailed), and a command that may run again holds a slot while it
// waits; with none free, it ends with its failure.
func (n *node) servedCacheFirst(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook, ticket circuit.Ticket, err error) error {
	if err == nil {
		n.report(n.breaker.Load(), ticket, nil)
		return nil
	}
	if !n.c.queue.TakeOne() {
		n.report(n.breaker.Load(), ticket, err)
		return err
	}
	n.gate.slots.Lend()
	err = n.ran(ctx, cmd, next, ticket, err)
	n.settle()
	return err
}

// settle gives back the slot a command held, unless the network use it lent
// it to took it (and gave it back).
func (n *node) settle() {
	if n.gate.slots.Reclaim() {
		n.c.release()
	}
}
