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
	// The frames on a command's way to its connection stay small: the rare
	// paths are calls, and the hook keeps one pointer (s) where it would
	// keep the node, the client and next. go-redis's own frames fit a new
	// goroutine's first stack; a few hundred bytes more made every goroutine
	// that sends a command grow (copy) its stack first (docs/PERFORMANCE.md).
	s := &soloCommands{n: h.n, next: next}
	if h.n.gate != nil {
		return s.cacheFirst()
	}
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isSetup(cmd) {
			return s.n.setUp(ctx, cmd, s.next)
		}
		if err := s.n.c.admit(); err != nil {
			return s.n.c.refuse(cmd, err)
		}
		ticket, ok := s.n.serving(ctx)
		if !ok {
			return s.waiting(ctx, cmd)
		}
		if err := s.next(ctx, cmd); err != nil || s.n.slowReplies.Load() != 0 {
			return s.ran(ctx, cmd, ticket, err)
		}
		s.n.c.release()
		return nil
	}
}

// soloCommands is what the solo hook's commands run with.
type soloCommands struct {
	n    *node
	next redis.ProcessHook
}

// ran finishes a command after its first attempt (node.ran) and gives back
// its queue slot. It is kept out of line, so that the hook's frame holds room
// for its arguments only, not node.ran's.
//
//go:noinline
func (s *soloCommands) ran(ctx context.Context, cmd redis.Cmder, ticket circuit.Ticket, err error) error {
	err = s.n.ran(ctx, cmd, s.next, ticket, err)
	s.n.c.release()
	return err
}

// waiting runs a command the node does not serve at once (node.processWaiting)
// and gives back its queue slot.
func (s *soloCommands) waiting(ctx context.Context, cmd redis.Cmder) error {
	err := s.n.processWaiting(ctx, cmd, s.next)
	s.n.c.release()
	return err
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

// process runs one command on the node: the node's admission and breaker, the
// command, the safe retries, and the count of its outcome. Refusals are
// reported and set on the command.
func (n *node) process(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	if ticket, ok := n.serving(ctx); ok {
		err := next(ctx, cmd)
		if err == nil && n.slowReplies.Load() == 0 {
			return nil // the connection counted the success (see report)
		}
		return n.ran(ctx, cmd, next, ticket, err)
	}
	return n.processWaiting(ctx, cmd, next)
}

// processWaiting runs a command the node does not serve at once: its
// admission may wait for the node, or refuse it, and the breaker may refuse
// it or make it a probe.
func (n *node) processWaiting(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
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
	return n.ran(ctx, cmd, next, ticket, err)
}

// serving is admission steps 3 and 4 while they let every command through:
// the node is ready, the caller's context has not ended, and the breaker (if
// any) is closed. It returns the breaker's ticket; false sends the command
// the long way, through admit and allow.
func (n *node) serving(ctx context.Context) (circuit.Ticket, bool) {
	if n.State() != StateReady || ctx.Err() != nil {
		return circuit.Ticket{}, false
	}
	b := n.breaker.Load()
	if b == nil {
		return circuit.Ticket{}, true
	}
	return b.AllowClosed()
}

// ran finishes a command the node admitted with ticket, whose first attempt
// returned err: the safe retries after a failure, and the count of its
// outcome. The outcome goes to the node's breaker as it is now: a ticket of
// one the node has replaced since (its Sentinel master moved) is ignored, as
// any ticket of an earlier phase is. (Not passing the breaker keeps the frames
// on every command's path small: see the solo hook.)
func (n *node) ran(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook, ticket circuit.Ticket, err error) error {
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
	n.report(n.breaker.Load(), ticket, err)
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
