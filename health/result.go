package health

import (
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// Status is the verdict of a check.
type Status string

const (
	// StatusHealthy: Redis answered the PING, and a *redisguard.Client is
	// ready with its breaker not open; on a cluster, the client is ready and
	// some node answered (Result.Nodes says which did not).
	StatusHealthy Status = "healthy"
	// StatusUnhealthy: the PING failed or timed out, or the client is known
	// not to serve (not ready, breaker open, closed). Result.Err says why.
	StatusUnhealthy Status = "unhealthy"
	// StatusDegraded is the "status" of a JSON answer of an endpoint built
	// with Options.Optional when its check failed: Redis does not serve, and the
	// service answers without it (still 200). Check never returns it.
	StatusDegraded Status = "degraded"
)

// Result is the outcome of one check: what Check returns, and what Handler
// and Readiness encode.
type Result struct {
	// Status is StatusHealthy or StatusUnhealthy.
	Status Status

	// Latency is how long the PING took: its round trip when it succeeded,
	// the time until it failed otherwise. It is zero when no PING was sent,
	// because the client was known not to serve.
	Latency time.Duration

	// Err is why the check failed, nil when healthy. It is the client's own
	// error, wrapping its last connection error when it cannot connect, for
	// logs and errors.Is (redisguard.ErrNotReady,
	// redisguard.ErrClosed, redisguard.ErrMaxRetriesReached, breaker.ErrOpen,
	// context.DeadlineExceeded, …): it may name the server's address. Show
	// Message to whoever should not see that.
	Err error

	// State is the state of a *redisguard.Client after the check. It is
	// meaningful only when HasState is true: the zero State is
	// StateConnecting.
	State redisguard.State

	// HasState reports that the client is a *redisguard.Client, so that State
	// is known. It is false for a plain go-redis client.
	HasState bool

	// Breaker is the state of the client's circuit breaker after the check,
	// meaningful only when HasBreaker is true.
	Breaker breaker.State

	// HasBreaker reports that the client is a *redisguard.Client with its
	// breaker enabled, so that Breaker is known.
	HasBreaker bool

	// Nodes reports each server of a *redisguard.Client after the check, in
	// address order: the one server of a standalone client, the current
	// master of a Sentinel client, every node of a cluster's slot map (each
	// sent a PING of its own). Nil for a plain go-redis client.
	Nodes []NodeResult

	// Time is when the check finished. Concurrent requests to one Handler
	// share a check, and with it its Time.
	Time time.Time

	redact *redactor // the checked client's credentials (see Check)
}

// Message says why the check failed in a few words fit for a response body,
// such as "connection refused", "timeout after 1s", "client not ready
// (reconnecting): authentication failed: WRONGPASS invalid username-password
// pair or user is disabled.", "circuit breaker open", "no node answered:
// timeout after 1s" or a Redis error reply like "LOADING Redis is loading the
// dataset in memory". It never contains an address, a host name or a
// password. It is "" when the check succeeded.
func (r Result) Message() string { return r.redact.text(describe(r.Err)) }
