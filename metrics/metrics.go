package metrics

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBuckets returns the latency buckets used when Options.Buckets is nil:
// the usual Redis latency buckets (1, 5, 10, 50, 100, 500 ms) with 2.5, 25 and 250 ms between them,
// sub-millisecond ones below (a Redis command on a LAN takes a fraction of a
// millisecond) and 1 s above.
func DefaultBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
}

// Options configures Metrics.
type Options struct {
	// Registerer receives the metrics. Nil registers nothing: register the
	// *Metrics yourself, it is a prometheus.Collector.
	Registerer prometheus.Registerer

	// Namespace prefixes every metric name. Zero means "redis".
	Namespace string

	// Buckets of redis_command_duration_seconds, in seconds, increasing. Nil
	// means DefaultBuckets().
	Buckets []float64

	// ConstLabels are added to every metric, e.g. {"client": "sessions"} when
	// one process instruments several clients.
	ConstLabels prometheus.Labels

	// NativeHistogramBucketFactor, when above 1, makes the latency histogram a
	// native (sparse) histogram as well as a classic one. Zero means 1.1; a
	// value of 1 or below (but not zero) turns native histograms off.
	NativeHistogramBucketFactor float64

	// MaxNodeLabels bounds the servers that have a "node" label value of
	// their own at once; the series of the servers beyond it are folded into
	// node="other" (its state gauges then count servers). Zero means
	// DefaultMaxNodeLabels (256).
	MaxNodeLabels int
}

// Metrics holds the client and cache metrics. Its methods are safe for
// concurrent use.
type Metrics struct {
	commands    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	reconnects  *prometheus.CounterVec
	dials       prometheus.Counter
	refused     *prometheus.CounterVec
	transition  *prometheus.CounterVec
	cacheReqs   *prometheus.CounterVec
	cacheEvents *prometheus.CounterVec
	perCommand  sync.Map // command name → *commandMetrics
	pipeline    prometheus.Observer
	client      *clientCollector
	caches      *cacheCollector
	nears       *nearCollector

	mu           sync.Mutex // guards instrumented
	instrumented bool
}

// New builds Metrics and registers them with opts.Registerer, if any.
func New(opts Options) (*Metrics, error) {
	if opts.Namespace == "" {
		opts.Namespace = "redis"
	}
	if opts.Buckets == nil {
		opts.Buckets = DefaultBuckets()
	}
	if len(opts.Buckets) == 0 || !slices.IsSorted(opts.Buckets) {
		return nil, errors.New("metrics: Options.Buckets must be a non-empty, increasing list")
	}
	switch {
	case opts.MaxNodeLabels < 0:
		return nil, fmt.Errorf("metrics: Options.MaxNodeLabels is %d: it must not be negative (0 means %d)", opts.MaxNodeLabels, DefaultMaxNodeLabels)
	case opts.MaxNodeLabels == 0:
		opts.MaxNodeLabels = DefaultMaxNodeLabels
	}
	factor := opts.NativeHistogramBucketFactor
	switch {
	case factor == 0:
		factor = 1.1
	case factor <= 1:
		factor = 0
	}
	ns, labels := opts.Namespace, opts.ConstLabels
	counter := func(name, help string, labelNames ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: labels}, labelNames)
	}
	m := &Metrics{
		commands: counter("commands_total", "Redis commands sent, by command.", "command"),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:                      ns,
			Name:                           "command_duration_seconds",
			Help:                           "Time from sending a Redis command to its reply, by command (a pipeline counts once, as \"pipeline\").",
			ConstLabels:                    labels,
			Buckets:                        opts.Buckets,
			NativeHistogramBucketFactor:    factor,
			NativeHistogramMaxBucketNumber: 160,
		}, []string{"command"}),
		errors:     counter("command_errors_total", "Redis commands that failed, by command and reason.", "command", "reason"),
		reconnects: counter("client_reconnect_attempts_total", "Reconnect attempts the client scheduled, by server.", "node"),
		dials: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "client_connections_total",
			Help: "Connections the client dialed.", ConstLabels: labels}),
		refused:     counter("client_refused_total", "Commands the client refused before sending them, by reason.", "reason"),
		transition:  counter("breaker_transitions_total", "Circuit breaker state changes, by server.", "node", "from", "to"),
		cacheReqs:   counter("cache_requests_total", "Keys served by a cache, by cache and result.", "cache", "result"),
		cacheEvents: counter("cache_events_total", "Invalidations a cache kept, applied or dropped, and values its near tier evicted, by cache and event.", "cache", "event"),
		client:      newClientCollector(ns, labels, opts.MaxNodeLabels),
		caches:      newCacheCollector(ns, labels),
		nears:       newNearCollector(ns, labels),
	}
	m.pipeline = m.durations.WithLabelValues("pipeline")
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(m); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.caches.flush() // the near hits, counted apart, into their series
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.commands, m.durations, m.errors, m.reconnects, m.dials, m.refused,
		m.transition, m.cacheReqs, m.cacheEvents, m.client, m.caches, m.nears,
	}
}
