package health

import (
	"errors"
	"strings"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// nodeVerdict is one node of a cluster in a verdict.
type nodeVerdict struct {
	addr    string
	status  level
	summary string // its state, and why it warns: "reconnecting (connection refused)"

	probe, state, breaker *observation // breaker nil when disabled
	latency               time.Duration
	timed                 bool
}

// nodeVerdictOf reports one node of a cluster: it warns when the node does
// not serve, its breaker is half-open, or its PING was slower than
// warnLatency (if positive).
func nodeVerdictOf(n NodeResult, warnLatency time.Duration) nodeVerdict {
	nv := nodeVerdict{
		addr:  n.Addr,
		probe: &observation{},
		state: &observation{value: n.State.String()},
	}
	if n.HasBreaker {
		nv.breaker = &observation{value: n.Breaker.String()}
	}
	var why []string
	switch {
	case n.Err != nil:
		nv.probe.status = warn
		if n.State != redisguard.StateReady {
			nv.state.status = warn
		}
		if nv.breaker != nil && n.Breaker == breaker.StateOpen {
			nv.breaker.status = warn
		}
		if reason := nodeReason(n.Err); reason != "" {
			why = append(why, reason)
		}
	case nv.breaker != nil && n.Breaker == breaker.StateHalfOpen:
		nv.breaker.status = warn
		why = append(why, "circuit breaker half-open")
		fallthrough
	default:
		nv.latency, nv.timed = n.Latency, true
		if warnLatency > 0 && n.Latency > warnLatency {
			nv.probe.status = warn
			why = append(why, slowText(n.Latency, warnLatency))
		}
	}
	nv.summary = n.State.String()
	if len(why) > 0 {
		nv.summary += " (" + strings.Join(why, "; ") + ")"
	}
	for _, o := range []*observation{nv.probe, nv.state, nv.breaker} {
		if o != nil && o.status != pass {
			nv.status = warn
			o.output = strings.Join(why, "; ")
		}
	}
	return nv
}

// nodeReason says why a node does not serve, without its state: the cause of
// a node that is not ready ("connection refused"), which may be unknown (""),
// or what failed ("circuit breaker open", "timeout after 1s").
func nodeReason(err error) string {
	var notReady *notReadyError
	if errors.As(err, &notReady) {
		return failure(notReady.cause)
	}
	return describe(err)
}

// setStatus makes every check of the node that does not pass, and the node,
// answer l.
func (n *nodeVerdict) setStatus(l level) {
	if n.status == pass {
		return
	}
	n.status = l
	for _, o := range []*observation{n.probe, n.state, n.breaker} {
		if o != nil && o.status != pass {
			o.status = l
		}
	}
}
