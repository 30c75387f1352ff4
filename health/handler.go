package health

import (
	"context"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/typednil"
	"golang.org/x/sync/singleflight"
)

// Handler answers /health/redis, the Go form of the usual Express route that
// PINGs Redis, without its flaw: the PING is bounded by a timeout (DefaultTimeout,
// or Options.Timeout), so a paused or unreachable Redis gets a 503 in time instead
// of a request that hangs. It takes at most one Options.
//
// GET answers 200 with
//
//	{"status":"healthy","latency":"0.42ms","latency_ms":0.42,"state":"ready","breaker":"closed"}
//
// or 503 with
//
//	{"status":"unhealthy","state":"ready","breaker":"closed","error":"timeout after 1s"}
//
// where state and breaker appear for a *redisguard.Client (breaker only when
// its breaker is enabled), and "warning" for a healthy answer with a concern
// (breaker half-open, PING slower than Options.WarnLatency). The error is
// Result.Message: no address, no password. The check is Check's, under the
// Handler's timeout instead of a caller's context, including its handling of
// a *redisguard.Client that is known not to serve, and of a cluster, whose
// nodes are each PINGed and reported under "nodes" (see "Clusters" in the
// package documentation).
//
// HEAD gets the same status and headers without the body; other methods get
// 405 with "Allow: GET, HEAD". Every answer has "Cache-Control: no-store". A
// request whose Accept header asks for application/health+json gets that
// format (see the package documentation).
//
// Concurrent requests share one PING: at most one is in flight per Handler.
// It runs under its own timeout, not under any request's context, and a
// request whose context ends stops waiting for it and gets a 503. (A go-redis
// client without ContextTimeoutEnabled does not stop a timed-out PING, so
// the next check may send another while it still waits; a *redisguard.Client
// always honours the timeout.)
//
// A nil rdb, or a nil pointer in it such as a (*redis.Client)(nil), cannot
// be checked: every request is answered 500 with "no Redis client: Handler
// got a nil *redis.Client", and so are invalid Options (an *OptionError
// naming the field). NewHandler reports either as an error instead.
func Handler(rdb redis.UniversalClient, opts ...Options) http.Handler {
	return orBroken(newPinger("Handler", rdb, opts))
}

// NewHandler is Handler, for a program that wants a nil client or invalid
// Options to stop it at startup: it returns an error (wrapping ErrNoClient, or
// an *OptionError) instead of a handler that answers 500.
func NewHandler(rdb redis.UniversalClient, opts ...Options) (http.Handler, error) {
	return newPinger("NewHandler", rdb, opts)
}

// Readiness answers /health/ready, for Kubernetes' readinessProbe, with the
// check and the answers of Handler: 503 while a *redisguard.Client is not
// ready, while its breaker is open, and when the PING fails or times out; 200
// otherwise. On a cluster, 503 only when the client is not ready or no node
// answers: a node that is down, or whose breaker is open, is a warning (200)
// that names it, since the other nodes serve their keys meanwhile.
//
// While the breaker is open, Readiness answers from its state without a PING.
// Once the breaker's open period has passed (it is half-open) Readiness sends
// its PING, which is one of the breaker's probes: a pod taken out of its
// Service while the breaker was open receives no traffic to probe with, and
// the readiness PINGs are what closes its breaker (after
// breaker.Settings.HalfOpenRequests of them, 3 by default) and bring it back.
// A half-open answer is 200 with a warning; a PING the breaker refuses
// because its probes are all in flight is a 503 for that period.
//
// Readiness has its own shared PING, apart from a Handler's.
//
// For a service that answers without Redis (a cache in front of the source
// of truth, see package cache), set Options.Optional: Readiness then stays 200 while
// Redis fails, and reports it as degraded instead of taking the pod out of
// its Service. A nil client is answered 500, as by Handler; NewReadiness
// reports it as an error instead.
func Readiness(rdb redis.UniversalClient, opts ...Options) http.Handler {
	return orBroken(newPinger("Readiness", rdb, opts))
}

// NewReadiness is Readiness, returning an error (wrapping ErrNoClient for a
// nil client, or an *OptionError) instead of a handler that answers 500.
func NewReadiness(rdb redis.UniversalClient, opts ...Options) (http.Handler, error) {
	return newPinger("NewReadiness", rdb, opts)
}

// newPinger is the endpoint of Handler and Readiness, or ErrNoClient naming
// fn when rdb is nil.
func newPinger(fn string, rdb redis.UniversalClient, opts []Options) (http.Handler, error) {
	if typednil.Is(rdb) {
		return nil, noClient(fn, rdb)
	}
	cfg, err := newConfig(fn, opts)
	if err != nil {
		return nil, err
	}
	p := &pinger{rdb: rdb, cfg: cfg, cluster: clusterOf(rdb) != nil, hide: redactorOf(rdb)}
	return endpoint(p.verdict), nil
}

// orBroken returns h, or an endpoint answering 500 with err when there is
// none.
func orBroken(h http.Handler, err error) http.Handler {
	if err != nil {
		return broken(err)
	}
	return h
}

// broken answers every request 500 with err: the endpoint was set up
// without a client, a mistake of the program that no retry will fix.
func broken(err error) http.Handler {
	msg := describe(err)
	return endpoint(func(*http.Request) verdict {
		return verdict{status: fail, broken: true, output: msg, time: time.Now()}
	})
}

// pinger is the state of one Handler: the client, the options and the PING
// that concurrent requests share.
type pinger struct {
	rdb     redis.UniversalClient
	cfg     config
	cluster bool                // rdb is a *redisguard.Client guarding a cluster: answers name its nodes
	hide    func(string) string // hides rdb's credentials in an answer
	group   singleflight.Group
}

// verdict waits for the shared check, starting one if none is in flight, or
// for the end of the request's context.
func (p *pinger) verdict(r *http.Request) verdict {
	shared := p.group.DoChan("ping", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.timeout)
		defer cancel()
		return check(ctx, p.rdb, p.cfg.timeout), nil
	})
	var res Result
	select {
	case out := <-shared:
		res = out.Val.(Result)
	case <-r.Context().Done():
		res = failed(Result{}, r.Context().Err())
	}
	v := pingVerdict(res, p.cfg.warnLatency, p.cluster).redact(p.hide)
	if p.cfg.optional {
		v = v.degrade()
	}
	return v
}
