package health

import "time"

// DefaultTimeout bounds the PING of Check, Handler and Readiness unless
// WithTimeout says otherwise. It is shorter than the timeoutSeconds of the
// recommended probes (see the package documentation), so that Kubernetes
// receives the 503 that explains the failure instead of timing out itself.
const DefaultTimeout = time.Second

// Option configures Handler and Readiness.
type Option func(*config)

// config is the options of an endpoint, with every default applied.
type config struct {
	timeout     time.Duration // bounds the shared PING; always positive
	warnLatency time.Duration // a slower PING answers warn; 0: never
	optional    bool          // a failed check answers 200, degraded
}

// newConfig applies opts, in order, over the defaults. A nil Option is skipped.
func newConfig(opts []Option) config {
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// WithTimeout bounds the PING: without an answer within d the endpoint
// answers 503 with "timeout after d". A zero or negative d cannot bound
// anything, so it means DefaultTimeout; Handler has no error to return, and
// an endpoint that panics or never answers would be worse than the default.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = DefaultTimeout
		}
		c.timeout = d
	}
}

// WithWarnLatency makes a PING that succeeded but took longer than d answer
// "warn": status 200 still, with a "warning" in the JSON body and status
// "warn" in application/health+json, so that a dashboard sees Redis slowing
// down before it fails. A zero or negative d turns the warning off, which is
// the default.
func WithWarnLatency(d time.Duration) Option {
	return func(c *config) {
		c.warnLatency = max(d, 0)
	}
}

// Optional says that the service answers without Redis, so that a failed
// check must not fail the endpoint: it answers 200, with status "degraded"
// and the error in the JSON body, and status "warn" (with the error as its
// output) in application/health+json. Everything else is reported as
// without Optional: latency, state, breaker.
//
// Pass it to Readiness when Redis is a cache the service can do without,
// such as a cache.Cache whose loader answers from the database: a
// readinessProbe that follows Redis takes every pod out of its Service
// during a Redis outage, although each of them could still answer. Keep
// Handler (/health/redis) without it, so that dashboards see Redis fail.
func Optional() Option {
	return func(c *config) { c.optional = true }
}
