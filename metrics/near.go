package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redisguard/redisguard/cache"
)

// ObserveNear exports the state of a near tier under name, read from
// near.Stats() at every scrape; a later call with the same name replaces the
// Near. Hits are counted by ObserveCache (near_hit).
func (m *Metrics) ObserveNear(name string, near *cache.Near) {
	m.nears.m.Store(name, near)
}

// nearCollector exports the registered Nears' Stats.
type nearCollector struct {
	entries, bytes, conns, connsUp, serving        *prometheus.Desc
	fills, invalidations, flushes, lost, evictions *prometheus.Desc
	m                                              sync.Map // name → *cache.Near
}

func newNearCollector(ns string, labels prometheus.Labels) *nearCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, []string{"near"}, labels)
	}
	return &nearCollector{
		entries:       desc("cache_near_entries", "Decoded values a near tier holds."),
		bytes:         desc("cache_near_bytes", "Size of the values a near tier holds, as it counts them against MaxBytes."),
		conns:         desc("cache_near_connections", "Invalidation connections a near tier wants: one per server (on a cluster, per master and per replica)."),
		connsUp:       desc("cache_near_connections_up", "Invalidation connections subscribed now."),
		serving:       desc("cache_near_serving", "1 while a near tier serves from memory: every connection up and heard from within 2 × Heartbeat."),
		fills:         desc("cache_near_fills_total", "Values read from Redis into a near tier."),
		invalidations: desc("cache_near_invalidations_total", "Values a near tier dropped because Redis invalidated them."),
		flushes:       desc("cache_near_flushes_total", "Times a near tier dropped everything (a connection lost or made, a topology change, FLUSHALL)."),
		lost:          desc("cache_near_connections_lost_total", "Invalidation connections lost."),
		evictions:     desc("cache_near_evictions_total", "Values a near tier evicted to stay within its bounds."),
	}
}

func (c *nearCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.bytes, c.conns, c.connsUp, c.serving, c.fills, c.invalidations, c.flushes, c.lost, c.evictions} {
		ch <- d
	}
}

func (c *nearCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.Range(func(name, v any) bool {
		s := v.(*cache.Near).Stats()
		n := name.(string)
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, n)
		}
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), n)
		}
		serving := 0.0
		if s.Serving {
			serving = 1
		}
		gauge(c.entries, float64(s.Entries))
		gauge(c.bytes, float64(s.Bytes))
		gauge(c.conns, float64(s.Conns))
		gauge(c.connsUp, float64(s.ConnsUp))
		gauge(c.serving, serving)
		counter(c.fills, s.Fills)
		counter(c.invalidations, s.Invalidations)
		counter(c.flushes, s.Flushes)
		counter(c.lost, s.ConnsLost)
		counter(c.evictions, s.Evictions)
		return true
	})
}
