package redisguard

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
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
	n    atomic.Pointer[node] // nil until the node exists: no refusal
	next redis.Limiter
}

// gateNetwork installs a networkGate in opt, in front of the Limiter it has.
func gateNetwork(opt *redis.Options) *networkGate {
	g := &networkGate{next: opt.Limiter}
	opt.Limiter = g
	return g
}

func (g *networkGate) Allow() error {
	if n := g.n.Load(); n != nil {
		if err := n.networkRefusal(); err != nil {
			return err
		}
	}
	if g.next != nil {
		return g.next.Allow()
	}
	return nil
}

func (g *networkGate) ReportResult(err error) {
	if g.next != nil {
		g.next.ReportResult(err)
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
	gate.n.Store(n)
	n.cacheFirst = true
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
	if n.cacheFirst && t.Probe() {
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
