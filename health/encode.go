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
}

// healthBody is the application/health+json answer (draft-inadarei-api-health-check).
type healthBody struct {
	Status string                   `json:"status"`
	Output string                   `json:"output,omitempty"`
	Checks map[string][]healthCheck `json:"checks"`
}

// healthCheck is one entry of healthBody.Checks.
type healthCheck struct {
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
	return b
}

func (v verdict) healthBody() healthBody {
	at := v.time.UTC().Format(timeFormat)
	b := healthBody{Status: v.status.String(), Checks: map[string][]healthCheck{}}
	if v.status != pass {
		b.Output = v.output
	}
	if v.probe != nil {
		c := v.probe.check("datastore", at)
		if v.timed {
			c.ObservedValue, c.ObservedUnit = milliseconds(v.latency), "ms"
		}
		b.Checks["redis:responseTime"] = []healthCheck{c}
	}
	if v.state != nil {
		b.Checks["redis:connection"] = []healthCheck{v.state.check("datastore", at)}
	}
	if v.breaker != nil {
		b.Checks["redis:circuitBreaker"] = []healthCheck{v.breaker.check("component", at)}
	}
	return b
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
