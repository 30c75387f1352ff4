package health

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/typednil"
)

// Check sends one PING through rdb and reports how it went, for programs that
// are not HTTP servers (a worker's heartbeat, a gRPC health service, a CLI).
//
// The PING is bounded by ctx and by DefaultTimeout, whichever ends first, so
// that a forgotten deadline cannot make Check hang; Check returns when that
// bound passes even if rdb ignores contexts (a go-redis client without
// ContextTimeoutEnabled), leaving its PING to finish in the background.
//
// With a *redisguard.Client, Check reads the client's state and breaker
// first and sends no PING when the client is known not to serve: closed, not
// ready, or its breaker open. Such a client would refuse the PING anyway
// (with the offline queue on, it would make it wait), and the answer says
// why, with the client's last connection error when it cannot connect. While
// the breaker is half-open the PING goes through, as one of the breaker's
// probes. Result.Nodes reports each of the client's servers.
//
// A *redisguard.Client that guards a cluster gets one PING per node of the
// slot map, at once, each through that node's guard; the check passes while
// the client is ready and some node answers, and Result.Nodes says which did
// not and why.
//
// A server may quote the client's credentials back (a proxy refusing "AUTH
// user password"): Result.Message, NodeResult.Message and the text of their
// Err hide them, as redisguard.Client.Redact does (the Err still wraps the
// server's reply, for errors.Is and errors.As).
//
// Check never panics: a nil rdb, or a nil pointer in it such as a
// (*redis.Client)(nil), fails with ErrNoClient, and a PING that panics (a
// broken client) fails with an error holding the panic's value.
func Check(ctx context.Context, rdb redis.UniversalClient) Result {
	budget := DefaultTimeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = max(0, min(budget, time.Until(deadline)))
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return check(ctx, rdb, budget).redacted(redactorOf(rdb))
}

// check is Check under a ctx whose deadline is budget from now.
func check(ctx context.Context, rdb redis.UniversalClient, budget time.Duration) Result {
	if typednil.Is(rdb) {
		return failed(Result{}, noClient("Check", rdb))
	}
	c, guarded := rdb.(*redisguard.Client)
	if cc := clusterOf(rdb); cc != nil {
		return checkCluster(ctx, c, cc, budget)
	}

	var res Result
	if guarded {
		res = observe(c)
		if err := notServing(ctx, c, res); err != nil {
			return failed(res, err)
		}
	}
	latency, err := ping(ctx, rdb)
	err = timedOut(ctx, err, latency, budget)
	if guarded {
		// The PING may have changed the client: report it as it is now, and
		// never as healthy while it no longer serves.
		res = observe(c)
		switch {
		case err == nil:
			err = notServing(ctx, c, res)
		case errors.Is(err, redisguard.ErrNotReady):
			// The PING was refused: the server was found down meanwhile.
			state := res.State
			if state == redisguard.StateReady {
				state = redisguard.StateReconnecting
			}
			err = &notReadyError{state: state, cause: c.LastError()}
		}
		res.pinged(latency, err)
	}
	res.Latency = latency
	if err != nil {
		return failed(res, err)
	}
	res.Status = StatusHealthy
	res.Time = time.Now()
	return res
}

// timeoutSlack is how close to the check's budget a timeout must come to be
// the budget's: the socket's deadline, set from ctx's with a clock go-redis
// caches, may pass a moment before ctx's.
const timeoutSlack = 10 * time.Millisecond

// timedOut returns err, or a *timeoutError saying how long the PING waited
// when err means that no answer came in time: the check's budget when ctx's
// deadline passed or the PING gave up within timeoutSlack of it, its own time
// otherwise (a client's ReadTimeout shorter than the budget).
func timedOut(ctx context.Context, err error, latency, budget time.Duration) error {
	if err == nil || !isTimeout(err) {
		return err
	}
	after := latency
	if deadline, _ := ctx.Deadline(); !time.Now().Before(deadline) || budget-latency < timeoutSlack {
		after = budget
	}
	return &timeoutError{after: after.Round(time.Millisecond), err: err}
}

// failed completes res as the outcome of a check that failed with err.
func failed(res Result, err error) Result {
	res.Status = StatusUnhealthy
	res.Err = err
	res.Time = time.Now()
	return res
}

// observe reads the state of c, of its breaker and of each of its servers.
func observe(c *redisguard.Client) Result {
	res := Result{State: c.State(), HasState: true}
	if b, ok := c.Breaker(); ok {
		res.Breaker, res.HasBreaker = b.State, true
	}
	for _, n := range c.Nodes() {
		res.Nodes = append(res.Nodes, observeNode(n))
	}
	return res
}

// notServing returns why c, as res observed it, would refuse a command, or
// nil when it would run one.
func notServing(ctx context.Context, c *redisguard.Client, res Result) error {
	switch {
	case res.State == redisguard.StateClosed:
		return closedReason(ctx, c)
	case res.State != redisguard.StateReady:
		return &notReadyError{state: res.State, cause: c.LastError()}
	case res.HasBreaker && res.Breaker == breaker.StateOpen:
		return breaker.ErrOpen
	}
	return nil
}

// closedReason returns why c, whose state is closed, closed: ErrClosed, or the
// error wrapping ErrMaxRetriesReached. Closed is final, so WaitReady returns
// that reason at once, without waiting.
func closedReason(ctx context.Context, c *redisguard.Client) error {
	return c.WaitReady(ctx)
}

// ping sends PING through rdb and returns how long it took and its error. It
// returns when ctx ends even if rdb does not honour ctx, with ctx.Err(); the
// PING then finishes on its own goroutine, which nothing waits for.
func ping(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	type reply struct {
		latency time.Duration
		err     error
	}
	replied := make(chan reply, 1)
	start := time.Now()
	go func() {
		// The last line of "Check never panics": a panic here, on a goroutine
		// of its own, would end the process, and no caller could recover it.
		defer func() {
			if v := recover(); v != nil {
				replied <- reply{time.Since(start), &pingPanicError{value: v}}
			}
		}()
		err := rdb.Ping(ctx).Err()
		replied <- reply{time.Since(start), err}
	}()
	select {
	case r := <-replied:
		return r.latency, r.err
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
}

// isTimeout reports whether err means that no answer came in time: a
// deadline passed, on a context or on the socket.
func isTimeout(err error) bool {
	var nerr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout())
}
