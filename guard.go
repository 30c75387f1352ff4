package redisguard

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/outcome"
)

// soloHook guards the one go-redis client of a standalone or Sentinel client:
// the client's admission (closed, queue limit) and its node's (state, breaker,
// safe retries) in one hook.
type soloHook struct{ n *node }

func (h soloHook) DialHook(next redis.DialHook) redis.DialHook { return h.n.dial(next) }

func (h soloHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	n := h.n
	c := n.c
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isSetup(cmd) {
			return n.setUp(ctx, cmd, next)
		}
		if n.gate != nil {
			// A node whose go-redis client caches reads: while it serves, a
			// command goes to go-redis with nothing more than these loads,
			// so that a hit costs the guard next to nothing (see
			// processCacheFirst).
			if n.State() == StateReady && c.State() != StateClosed {
				b := n.breaker.Load()
				var ticket circuit.Ticket
				closed := true
				if b != nil {
					ticket, closed = b.AllowClosed()
				}
				if closed {
					err := next(ctx, cmd)
					if err == nil && n.slowReplies.Load() == 0 {
						return nil
					}
					return n.servedCacheFirst(ctx, cmd, next, b, ticket, err)
				}
			}
			return n.processCacheFirst(ctx, cmd, next)
		}
		stripe, err := c.admit()
		if err != nil {
			return c.refuse(cmd, err)
		}
		err = n.process(ctx, cmd, next)
		c.release(stripe)
		return err
	}
}

func (h soloHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	n := h.n
	c := n.c
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if allConnectionSetup(cmds) {
			if n.gate != nil {
				n.gate.slots.Pass() // see setUp
				defer n.gate.slots.EndPass()
			}
			return n.handshakeFailed(ctx, next(ctx, cmds))
		}
		admitted, held, err := c.admitBatch(cmds)
		if err != nil {
			return c.refuseAll(cmds, err)
		}
		if n.gate != nil {
			n.gate.slots.Lend() // see processCacheFirst
		}
		err = n.processBatch(ctx, cmds[:admitted], next, true)
		if n.gate != nil && !n.gate.slots.Reclaim() {
			held = c.queue.Forget(held, 1) // its use of the network gave it back
		}
		c.releaseHold(held)
		return firstErr(err, cmds)
	}
}

// clusterHook guards a cluster client as a whole: closed and the queue limit.
// The nodes' hooks do the rest.
type clusterHook struct{ c *Client }

func (clusterHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h clusterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	c := h.c
	return func(ctx context.Context, cmd redis.Cmder) error {
		stripe, err := c.admit()
		if err != nil {
			return c.refuse(cmd, err)
		}
		err = next(markSent(ctx, cmd), cmd)
		if e, ok := err.(*notRetriedError); ok {
			err = e.err
			cmd.SetErr(err)
		}
		c.release(stripe)
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
	n := h.n
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isSetup(cmd) {
			return n.handshakeFailed(ctx, next(ctx, cmd))
		}
		if info := infoFetch(ctx, cmd); info != nil {
			return n.c.cluster.info.answer(info) // see commandInfo
		}
		ctx, err := n.slotsFetch(ctx, cmd)
		if err != nil {
			return err
		}
		err = n.process(ctx, cmd, next)
		if slots, ok := cmd.(*redis.ClusterSlotsCmd); ok && err == nil {
			n.c.cluster.follow(n.address(), slots.Val())
		}
		if err != nil && !readOnly(cmd) {
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

// process runs one command on the node: the node's admission and breaker, the
// command, the safe retries, and the count of its outcome. Refusals are
// reported and set on the command.
func (n *node) process(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	if b, ticket, ok := n.serving(ctx); ok {
		err := next(ctx, cmd)
		if err == nil && n.slowReplies.Load() == 0 {
			return nil // the connection counted the success (see report)
		}
		return n.ran(ctx, cmd, next, b, ticket, err)
	}
	if n.gate != nil && n.refusesCommands() && readOnly(cmd) {
		if answered, err := n.fromCache(ctx, cmd, next); answered {
			return err
		}
	}
	admitted, err := n.admit(ctx)
	if err != nil {
		return n.c.refuse(cmd, err)
	}
	b, ticket, err := n.allow(ctx)
	if err != nil {
		return n.c.refuse(cmd, err)
	}
	n.passProbe(ticket)
	// Only the first try is bounded: what follows a failure (the wait for
	// the attempt's outcome, a retry) runs under the caller's own context.
	first, stop := n.withinFirstAttempt(ctx, admitted)
	defer stop()
	err = next(first, cmd)
	if firstAttemptFailed(first, err) {
		err = n.c.refuse(cmd, n.refused())
		n.report(b, ticket, err)
		return err
	}
	return n.ran(ctx, cmd, next, b, ticket, err)
}

// serving is admission steps 3 and 4 while they let every command through:
// the node is ready, the caller's context has not ended, and the breaker (if
// any) is closed. It returns the breaker and its ticket; false sends the
// command the long way, through admit and allow.
func (n *node) serving(ctx context.Context) (*circuit.Breaker, circuit.Ticket, bool) {
	if n.State() != StateReady || ctx.Err() != nil {
		return nil, circuit.Ticket{}, false
	}
	b := n.breaker.Load()
	if b == nil {
		return nil, circuit.Ticket{}, true
	}
	t, ok := b.AllowClosed()
	return b, t, ok
}

// ran finishes a command the node admitted with ticket, whose first attempt
// returned err: the safe retries after a failure, and the count of its
// outcome.
func (n *node) ran(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook, b *circuit.Breaker, ticket circuit.Ticket, err error) error {
	if err != nil {
		err = n.afterFailure(ctx, err, readOnly(cmd), func() error {
			cmd.SetErr(nil)
			n.passProbe(ticket)
			return next(ctx, cmd)
		})
		if errors.Is(err, redis.ErrPoolTimeout) && n.State() == StateReconnecting {
			// It waited for a connection while the server went down: say so.
			err = n.refused()
			cmd.SetErr(err)
		}
	}
	n.report(b, ticket, err)
	return err
}

// processBatch runs a pipeline or transaction on the node, as process does;
// only the solo client retries it here (a cluster retries batches itself).
func (n *node) processBatch(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook, retry bool) error {
	if len(cmds) == 0 {
		return nil
	}
	admitted, err := n.admit(ctx)
	if err != nil {
		return n.c.refuseAll(cmds, err)
	}
	b, ticket, err := n.allow(ctx)
	if err != nil {
		return n.c.refuseAll(cmds, err)
	}
	n.passProbe(ticket)
	first, stop := n.withinFirstAttempt(ctx, admitted) // see process
	defer stop()
	err = next(first, cmds)
	if firstAttemptFailed(first, err) {
		err = n.c.refuseAll(cmds, n.refused())
		n.report(b, ticket, err)
		return err
	}
	if err != nil && retry {
		err = n.afterFailure(ctx, err, allReadOnly(cmds), func() error {
			for _, cmd := range cmds {
				cmd.SetErr(nil)
			}
			n.passProbe(ticket)
			return next(ctx, cmds)
		})
	}
	n.report(b, ticket, err)
	return err
}

// report tells the node's breaker how a command it admitted ended. While
// closed, the breaker learns the server's successes and slowness from the
// connections (see wire.Conn.judge), so that hits go-redis serves from its
// client-side cache cost it nothing; the command reports only failures (error
// replies such as LOADING). A half-open breaker's probe reports whatever
// happened.
func (n *node) report(b *circuit.Breaker, t circuit.Ticket, err error) {
	if b == nil || err == nil && !t.Probe() && n.slowReplies.Load() == 0 {
		return // the common case: the connection counted the success
	}
	if v := n.verdict(err); t.Probe() || (v != nil && v != errNotCounted) {
		b.Done(t, v)
	}
}

// allow is admission step 4, the node's breaker. A caller whose context has
// already ended is turned away first: its command could only fail.
func (n *node) allow(ctx context.Context) (*circuit.Breaker, circuit.Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, circuit.Ticket{}, err
	}
	b := n.breaker.Load()
	if b == nil {
		return nil, circuit.Ticket{}, nil
	}
	t, err := b.Allow()
	if err != nil {
		err = n.openErr()
	}
	return b, t, err
}

// setUp runs a command go-redis sends while it sets up a new connection. It
// belongs to the command that needed the connection, which was admitted
// already: it takes no queue slot, neither here nor, on a node whose client
// caches reads, at the networkGate, which it passes.
func (n *node) setUp(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	if n.gate != nil {
		n.gate.slots.Pass()
		defer n.gate.slots.EndPass()
	}
	return n.handshakeFailed(ctx, next(ctx, cmd))
}

// handshakeFailed deals with a failure of a command go-redis sends while it
// sets up a new connection. A network failure or timeout is marked as never
// sent (the command that needed the connection was not written) and reports
// the node lost; a refusal for max clients pauses the node's new dials and is
// marked never sent too (the connections the pool has go on serving); refused
// credentials report the node lost, so that the supervisor takes over on its
// schedule instead of every command dialing into the same refusal. Other
// replies (an unknown CLIENT subcommand, say) are left alone: go-redis reads
// them to choose how to set the connection up. The mark is marked once more
// because go-redis unwraps one level of a handshake error before handing it to
// the command (but not to a PubSub); a mark keeps the interfaces of what it
// marks (net.Error).
func (n *node) handshakeFailed(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	kind, row := errTable.OfCall(ctx, err, outcome.Setup)
	switch {
	case kind == outcome.MaxClients:
		n.dials.Busy()
	case kind == outcome.Auth:
		n.lost(fmt.Errorf("authentication failed: %w", err))
		return err
	}
	if row.Resend != outcome.Always {
		return err
	}
	err = markNotSent(err)
	if row.Lost == outcome.Yes {
		n.lost(err)
	}
	return markNotSent(err)
}
