package health

import (
	"encoding/json"
	"strconv"
	"time"
)

// Media types of the two answers.
const (
	contentTypeJSON       = "application/json"
	contentTypeHealthJSON = "application/health+json"
)

// timeFormat is RFC 3339 to the millisecond, in UTC.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// plainBody is the application/json answer.
type plainBody struct {
	Status    Status   `json:"status"`
	Latency   string   `json:"latency,omitempty"`
	LatencyMS *float64 `json:"latency_ms,omitempty"`
	State     string   `json:"state,omitempty"`
	Breaker   string   `json:"breaker,omitempty"`
	Warning   string   `json:"warning,omitempty"`
	Error     string   `json:"error,omitempty"`
	// Nodes maps each node of a cluster to its state and, when it does not
	// serve, why: "reconnecting (connection refused)".
	Nodes map[string]string `json:"nodes,omitempty"`
}

// healthBody is the application/health+json answer (draft-inadarei-api-health-check).
type healthBody struct {
	Status string                   `json:"status"`
	Output string                   `json:"output,omitempty"`
	Checks map[string][]healthCheck `json:"checks"`
}

// healthCheck is one entry of healthBody.Checks.
type healthCheck struct {
	ComponentID   string `json:"componentId,omitempty"` // a cluster node's address
	ComponentType string `json:"componentType"`
	ObservedValue any    `json:"observedValue,omitempty"`
	ObservedUnit  string `json:"observedUnit,omitempty"`
	Status        string `json:"status"`
	Time          string `json:"time"`
	Output        string `json:"output,omitempty"`
}

// encode renders v as the plain JSON answer, or as application/health+json.
// It returns the Content-Type and the body.
func encode(v verdict, healthJSON bool) (string, []byte) {
	var body any
	ctype := contentTypeJSON
	if healthJSON {
		body, ctype = v.healthBody(), contentTypeHealthJSON
	} else {
		body = v.plainBody()
	}
	// Marshal cannot fail: the bodies hold strings, finite numbers and maps
	// with string keys.
	b, _ := json.Marshal(body)
	return ctype, append(b, '\n')
}

func (v verdict) plainBody() plainBody {
	b := plainBody{Status: StatusHealthy}
	switch {
	case v.degraded:
		b.Status, b.Error = StatusDegraded, v.output
	case v.status == warn:
		b.Warning = v.output
	case v.status == fail:
		b.Status, b.Error = StatusUnhealthy, v.output
	}
	if v.timed {
		ms := milliseconds(v.latency)
		b.Latency = strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
		b.LatencyMS = &ms
	}
	if v.state != nil {
		b.State = v.state.value
	}
	if v.breaker != nil {
		b.Breaker = v.breaker.value
	}
	if len(v.nodes) > 0 {
		b.Nodes = make(map[string]string, len(v.nodes))
		for _, n := range v.nodes {
			b.Nodes[n.addr] = n.summary
		}
	}
	return b
}

func (v verdict) healthBody() healthBody {
	at := v.time.UTC().Format(timeFormat)
	b := healthBody{Status: v.status.String(), Checks: map[string][]healthCheck{}}
	if v.status != pass {
		b.Output = v.output
	}
	add := func(name string, c healthCheck) { b.Checks[name] = append(b.Checks[name], c) }
	if v.probe != nil {
		add("redis:responseTime", v.probe.latencyCheck(v.latency, v.timed, at))
	}
	if v.state != nil {
		add("redis:connection", v.state.check("datastore", at))
	}
	if v.breaker != nil {
		add("redis:circuitBreaker", v.breaker.check("component", at))
	}
	// A cluster's nodes follow the client's own checks, one entry each,
	// told apart by their componentId.
	for _, n := range v.nodes {
		probe := n.probe.latencyCheck(n.latency, n.timed, at)
		probe.ComponentID = n.addr
		add("redis:responseTime", probe)
		state := n.state.check("datastore", at)
		state.ComponentID = n.addr
		add("redis:connection", state)
		if n.breaker != nil {
			cb := n.breaker.check("component", at)
			cb.ComponentID = n.addr
			add("redis:circuitBreaker", cb)
		}
	}
	return b
}

// latencyCheck renders a PING as a health+json check, with its round trip
// as observedValue when it succeeded.
func (o *observation) latencyCheck(latency time.Duration, timed bool, at string) healthCheck {
	c := o.check("datastore", at)
	if timed {
		c.ObservedValue, c.ObservedUnit = milliseconds(latency), "ms"
	}
	return c
}

// check renders o as a health+json check; the state it observed, if any, is
// its observedValue.
func (o *observation) check(componentType, at string) healthCheck {
	c := healthCheck{ComponentType: componentType, Status: o.status.String(), Time: at}
	if o.value != "" {
		c.ObservedValue = o.value
	}
	if o.status != pass {
		c.Output = o.output
	}
	return c
}

// milliseconds is d in milliseconds, to the microsecond.
func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
