package health

import (
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// NodeResult is one server of a *redisguard.Client as a check found it: the
// one server of a standalone client, the current master of a Sentinel
// client, or one node of a cluster's slot map.
type NodeResult struct {
	// Addr is the server's address, host:port, as the client dials it.
	Addr string

	// State is the state of the client's connection to this server.
	State redisguard.State

	// Breaker is the state of this server's circuit breaker, meaningful only
	// when HasBreaker is true (the client's breakers are enabled).
	Breaker    breaker.State
	HasBreaker bool

	// Latency is the round trip of the check's PING to this server; zero
	// when none was sent or it failed.
	Latency time.Duration

	// Err is why this server does not serve, nil when it does: an error
	// wrapping redisguard.ErrNotReady and the last connection error while
	// the server is (re)connecting, breaker.ErrOpen while its breaker is
	// open, or the failure of its PING. It may hold the address; Message
	// does not.
	Err error

	redact *redactor // the checked client's credentials (see Check)
}

// Message says why the server does not serve, in the words of
// Result.Message, such as "client not ready (reconnecting): connection
// refused", "circuit breaker open" or "timeout after 1s". It is "" when the
// server serves.
func (n NodeResult) Message() string { return n.redact.text(describe(n.Err)) }

// observeNode reads one server of a client, as Client.Nodes reports it.
func observeNode(s redisguard.NodeStatus) NodeResult {
	n := NodeResult{Addr: s.Addr, State: s.State}
	n.Breaker, n.HasBreaker = s.Breaker.State, s.HasBreaker
	switch {
	case s.State == redisguard.StateClosed:
		n.Err = redisguard.ErrClosed
	case s.State != redisguard.StateReady:
		n.Err = &notReadyError{state: s.State, cause: s.LastError}
	case n.HasBreaker && n.Breaker == breaker.StateOpen:
		n.Err = breaker.ErrOpen
	}
	return n
}

// pinged records the outcome of the PING a standalone or Sentinel client sent
// to its one server.
func (res *Result) pinged(latency time.Duration, err error) {
	if len(res.Nodes) != 1 || res.Nodes[0].Err != nil {
		return
	}
	if err != nil {
		res.Nodes[0].Err = err
	} else {
		res.Nodes[0].Latency = latency
	}
}

// clusterOf returns the cluster client that a *redisguard.Client guards, or
// nil for any other client.
func clusterOf(rdb redis.UniversalClient) *redis.ClusterClient {
	c, ok := rdb.(*redisguard.Client)
	if !ok {
		return nil
	}
	cc, _ := c.UniversalClient.(*redis.ClusterClient)
	return cc
}
