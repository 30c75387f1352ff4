package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/info"
	"github.com/redisguard/redisguard/internal/typednil"
)

// DefaultServerTimeout bounds the reads of a scrape.
const DefaultServerTimeout = 2 * time.Second

// ServerOptions configures NewServerCollector.
type ServerOptions struct {
	// Namespace prefixes every metric name. Zero means "redis".
	Namespace string
	// ConstLabels are added to every metric.
	ConstLabels prometheus.Labels
	// Timeout bounds the INFO and SLOWLOG LEN reads of one scrape. Zero or
	// negative means DefaultServerTimeout (2 s).
	Timeout time.Duration
}

// serverCollector reads INFO and SLOWLOG LEN at scrape time.
type serverCollector struct {
	rdb     redis.UniversalClient
	timeout time.Duration
	errors  atomic.Uint64

	memory, usage, fragmentation, connected, blocked, maxClients  *prometheus.Desc
	hits, misses, evicted, ops, slowlog, dbKeys, up, scrapeErrors *prometheus.Desc
}

// NewServerCollector returns a collector that reads the server's INFO and
// SLOWLOG LEN at every scrape. A failed read (Redis down, or an ACL user
// without INFO) shows as redis_server_up 0 and a rise of
// redis_server_scrape_errors_total, never as a failed scrape. On a cluster
// client the reads go to one node; use a collector per node.
//
// A nil rdb, or a nil pointer in it such as a (*redis.Client)(nil), gives a
// collector whose registration fails with an error wrapping ErrNoClient
// (Register returns it; MustRegister panics with it), as client_golang does
// for an invalid descriptor: the mistake shows at startup, not as a failed
// scrape.
func NewServerCollector(rdb redis.UniversalClient, opts ServerOptions) prometheus.Collector {
	if typednil.Is(rdb) {
		return invalidCollector{err: noClient("NewServerCollector", rdb)}
	}
	if opts.Namespace == "" {
		opts.Namespace = "redis"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultServerTimeout
	}
	desc := func(name, help string, labelNames ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(opts.Namespace, "", name), help, labelNames, opts.ConstLabels)
	}
	return &serverCollector{
		rdb:           rdb,
		timeout:       opts.Timeout,
		memory:        desc("memory_bytes", "Memory by type: used, peak, rss (resident) and max (maxmemory, 0 when unset).", "type"),
		usage:         desc("memory_usage_ratio", "Used memory over maxmemory; absent when maxmemory is unset."),
		fragmentation: desc("memory_fragmentation_ratio", "Resident memory over used memory (mem_fragmentation_ratio)."),
		connected:     desc("connected_clients", "Client connections."),
		blocked:       desc("blocked_clients", "Clients blocked in BLPOP and the like."),
		maxClients:    desc("max_clients", "The server's maxclients."),
		hits:          desc("keyspace_hits_total", "Successful key lookups."),
		misses:        desc("keyspace_misses_total", "Failed key lookups."),
		evicted:       desc("evicted_keys_total", "Keys evicted because of maxmemory."),
		ops:           desc("instantaneous_ops_per_second", "Commands per second, as the server measures it."),
		slowlog:       desc("slowlog_length", "Entries in the slow log."),
		dbKeys:        desc("db_keys", "Keys by database.", "db"),
		up:            desc("server_up", "1 when the last scrape could read INFO, 0 when it could not."),
		scrapeErrors:  desc("server_scrape_errors_total", "Scrapes that could not read INFO or SLOWLOG LEN."),
	}
}

func (sc *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sc.memory, sc.usage, sc.fragmentation, sc.connected, sc.blocked, sc.maxClients,
		sc.hits, sc.misses, sc.evicted, sc.ops, sc.slowlog, sc.dbKeys, sc.up, sc.scrapeErrors} {
		ch <- d
	}
}

func (sc *serverCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), sc.timeout)
	defer cancel()
	defer func() {
		ch <- prometheus.MustNewConstMetric(sc.scrapeErrors, prometheus.CounterValue, float64(sc.errors.Load()))
	}()

	text, err := sc.rdb.Info(ctx).Result()
	if err != nil {
		sc.errors.Add(1)
		ch <- prometheus.MustNewConstMetric(sc.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(sc.up, prometheus.GaugeValue, 1)
	info := info.Parse(text)
	emit := func(d *prometheus.Desc, t prometheus.ValueType, key string, labels ...string) {
		if v, ok := info.Float(key); ok {
			ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
		}
	}
	emit(sc.memory, prometheus.GaugeValue, "used_memory", "used")
	emit(sc.memory, prometheus.GaugeValue, "used_memory_peak", "peak")
	emit(sc.memory, prometheus.GaugeValue, "used_memory_rss", "rss")
	emit(sc.memory, prometheus.GaugeValue, "maxmemory", "max")
	if used, ok := info.Float("used_memory"); ok {
		if limit, ok := info.Float("maxmemory"); ok && limit > 0 {
			ch <- prometheus.MustNewConstMetric(sc.usage, prometheus.GaugeValue, used/limit)
		}
	}
	emit(sc.fragmentation, prometheus.GaugeValue, "mem_fragmentation_ratio")
	emit(sc.connected, prometheus.GaugeValue, "connected_clients")
	emit(sc.blocked, prometheus.GaugeValue, "blocked_clients")
	emit(sc.maxClients, prometheus.GaugeValue, "maxclients")
	emit(sc.hits, prometheus.CounterValue, "keyspace_hits")
	emit(sc.misses, prometheus.CounterValue, "keyspace_misses")
	emit(sc.evicted, prometheus.CounterValue, "evicted_keys")
	emit(sc.ops, prometheus.GaugeValue, "instantaneous_ops_per_sec")
	for db, stats := range info.Keyspace() {
		if keys, ok := stats["keys"]; ok {
			ch <- prometheus.MustNewConstMetric(sc.dbKeys, prometheus.GaugeValue, float64(keys), db)
		}
	}

	n, err := sc.rdb.Do(ctx, "slowlog", "len").Int64()
	if err != nil {
		sc.errors.Add(1)
		return
	}
	ch <- prometheus.MustNewConstMetric(sc.slowlog, prometheus.GaugeValue, float64(n))
}
