package health

import (
	"fmt"
	"time"
)

// DefaultTimeout bounds the PING of Check, Handler and Readiness unless
// Options.Timeout says otherwise. It is shorter than the timeoutSeconds of the
// recommended probes (see the package documentation), so that Kubernetes
// receives the 503 that explains the failure instead of timing out itself.
const DefaultTimeout = time.Second

// Options configures Handler and Readiness; the zero value has every default.
// They take at most one: Handler(rdb) or Handler(rdb, health.Options{...}).
type Options struct {
	// Timeout bounds the PING: without an answer within it the endpoint
	// answers 503 with "timeout after <Timeout>". Zero means DefaultTimeout;
	// a negative value is an error.
	Timeout time.Duration

	// WarnLatency makes a PING that succeeded but took longer answer "warn":
	// status 200 still, with a "warning" in the JSON body and status "warn"
	// in application/health+json, so that a dashboard sees Redis slowing down
	// before it fails. Zero turns the warning off, the default; a negative
	// value is an error.
	WarnLatency time.Duration

	// Optional says that the service answers without Redis, so that a failed
	// check must not fail the endpoint: it answers 200, with status "degraded"
	// and the error in the JSON body, and status "warn" (with the error as its
	// output) in application/health+json. Everything else is reported as
	// without Optional: latency, state, breaker.
	//
	// Set it for Readiness when Redis is a cache the service can do without,
	// such as a cache.Cache whose loader answers from the database: a
	// readinessProbe that follows Redis takes every pod out of its Service
	// during a Redis outage, although each of them could still answer. Keep
	// Handler (/health/redis) without it, so that dashboards see Redis fail.
	Optional bool
}

// OptionError reports an invalid Options field.
type OptionError struct {
	Field  string // e.g. "Timeout"
	Reason string
}

func (e *OptionError) Error() string {
	return "health: invalid Options." + e.Field + ": " + e.Reason
}

// config is the options of an endpoint, with every default applied.
type config struct {
	timeout     time.Duration // bounds the shared PING; always positive
	warnLatency time.Duration // a slower PING answers warn; 0: never
	optional    bool          // a failed check answers 200, degraded
}

// newConfig validates the Options fn was given (at most one) and applies the
// defaults.
func newConfig(fn string, opts []Options) (config, error) {
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return config{}, fmt.Errorf("health: %s got %d Options: pass at most one", fn, len(opts))
	}
	switch {
	case o.Timeout < 0:
		return config{}, &OptionError{Field: "Timeout", Reason: fmt.Sprintf("is %v: it must not be negative (0 means %v)", o.Timeout, DefaultTimeout)}
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	}
	if o.WarnLatency < 0 {
		return config{}, &OptionError{Field: "WarnLatency", Reason: fmt.Sprintf("is %v: it must not be negative (0 turns the warning off)", o.WarnLatency)}
	}
	return config{timeout: o.Timeout, warnLatency: o.WarnLatency, optional: o.Optional}, nil
}
