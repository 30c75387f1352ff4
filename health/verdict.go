package health

import (
	"fmt"
	"strings"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// level is the status of an answer or of one of its checks, in the words of
// application/health+json.
type level int

const (
	pass level = iota // healthy
	warn              // healthy, with a concern: still 200
	fail              // unhealthy: 503
)

func (l level) String() string {
	switch l {
	case pass:
		return "pass"
	case warn:
		return "warn"
	default:
		return "fail"
	}
}

// verdict is what an endpoint answers, before it is encoded as JSON or as
// application/health+json.
type verdict struct {
	status level
	output string // why it warns or fails, in words fit for a body
	time   time.Time

	probe   *observation // the PING; nil where none is sent (liveness)
	latency time.Duration
	timed   bool // a PING succeeded and latency is its round trip

	state   *observation // the client's state; nil for a plain go-redis client
	breaker *observation // the client's breaker; nil when unknown or disabled

	// nodes are the nodes of a cluster, each with checks of its own; nil for
	// any other client, whose one server the client's checks describe.
	nodes []nodeVerdict

	degraded bool // the check failed, but Redis is optional here (Options.Optional)
	broken   bool // the endpoint has no client to check: 500
}

// observation is one check of a verdict.
type observation struct {
	value  string // the state observed; "" for the probe, whose value is latency
	status level
	output string
}

// pingVerdict is the answer of Handler and Readiness for the outcome of a
// check. It fails when the check failed; it warns when the PING was slower
// than warnLatency (if positive) or the breaker is half-open. With cluster,
// each node of res is reported on its own, and one that does not serve, is
// slow, or whose breaker is not closed makes the verdict warn.
func pingVerdict(res Result, warnLatency time.Duration, cluster bool) verdict {
	v := verdict{time: res.Time, probe: &observation{}}
	if res.HasState {
		v.state = &observation{value: res.State.String(), status: pass}
		if res.State != redisguard.StateReady {
			v.state.status = fail
		}
	}
	if res.HasBreaker {
		v.breaker = &observation{value: res.Breaker.String(), status: pass}
		switch res.Breaker {
		case breaker.StateHalfOpen:
			v.breaker.status, v.breaker.output = warn, "circuit breaker half-open"
		case breaker.StateOpen:
			v.breaker.status = fail
		}
	}
	if cluster {
		for _, n := range res.Nodes {
			v.nodes = append(v.nodes, nodeVerdictOf(n, warnLatency))
		}
	}
	if res.Status != StatusHealthy {
		// The PING failed, or was not sent because the client does not serve:
		// the probe fails, and so does whatever of the client showed why.
		v.status, v.output = fail, res.Message()
		v.probe.status = fail
		for _, o := range []*observation{v.probe, v.state, v.breaker} {
			if o != nil && o.status != pass {
				o.status, o.output = fail, v.output
			}
		}
		for i := range v.nodes {
			v.nodes[i].setStatus(fail)
		}
		return v
	}
	v.latency, v.timed = res.Latency, true
	if !cluster && warnLatency > 0 && res.Latency > warnLatency {
		v.probe.status = warn
		v.probe.output = slowText(res.Latency, warnLatency)
	}
	var warnings []string
	for _, o := range []*observation{v.probe, v.state, v.breaker} {
		if o != nil && o.status == warn {
			v.status = warn
			warnings = append(warnings, o.output)
		}
	}
	for _, n := range v.nodes {
		if n.status == warn {
			v.status = warn
			warnings = append(warnings, n.addr+" "+n.summary)
		}
	}
	v.output = strings.Join(warnings, "; ")
	return v
}

// slowText says that a PING that took latency was slower than limit.
func slowText(latency, limit time.Duration) string {
	return fmt.Sprintf("PING took %v, above %v", latency.Round(time.Microsecond), limit)
}

// livenessVerdict is the answer of Liveness for a client in state st, not
// ready for reason why: it fails only when the client is closed, and warns
// while it is connecting or reconnecting.
func livenessVerdict(st redisguard.State, why error, now time.Time) verdict {
	v := verdict{time: now, state: &observation{value: st.String()}}
	switch st {
	case redisguard.StateReady:
	case redisguard.StateClosed:
		v.status, v.output = fail, describe(why)
	default:
		v.status, v.output = warn, describe(why)
	}
	v.state.status, v.state.output = v.status, v.output
	return v
}

// degrade turns a failing verdict into the answer of an endpoint for which
// Redis is optional: the check failed, the service still answers, so the
// verdict warns, and so does every check of it that failed.
func (v verdict) degrade() verdict {
	if v.status != fail {
		return v
	}
	v.status, v.degraded = warn, true
	for _, o := range []*observation{v.probe, v.state, v.breaker} {
		if o != nil && o.status == fail {
			o.status = warn
		}
	}
	for i := range v.nodes {
		v.nodes[i].setStatus(warn)
	}
	return v
}
