package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redisguard/redisguard/cache"
)

// ObserveCache counts one result of the named cache. Pass it as
// cache.Options.Observer.
func (m *Metrics) ObserveCache(name string, r cache.Result) {
	m.caches.of(name, m.cacheReqs).observe(r)
}

// cacheCounts are the series and counts of one cache, resolved once so that
// observing a result allocates nothing.
type cacheCounts struct {
	requests        [cache.ResultCorrupt + 1]prometheus.Counter
	answered, total atomic.Uint64 // for the hit rate
}

func (cc *cacheCounts) observe(r cache.Result) {
	if int(r) < len(cc.requests) {
		cc.requests[r].Inc()
	}
	cc.total.Add(1)
	if r == cache.ResultHit || r == cache.ResultNegativeHit {
		cc.answered.Add(1)
	}
}

// cacheCollector exports each cache's hit rate at scrape time.
type cacheCollector struct {
	hitRate *prometheus.Desc
	caches  sync.Map // name → *cacheCounts
}

func newCacheCollector(ns string, labels prometheus.Labels) *cacheCollector {
	return &cacheCollector{hitRate: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "cache_hit_rate"),
		"Share of the keys a cache served that Redis answered (hits and cached not-founds), since start.", []string{"cache"}, labels)}
}

func (cc *cacheCollector) of(name string, requests *prometheus.CounterVec) *cacheCounts {
	if c, ok := cc.caches.Load(name); ok {
		return c.(*cacheCounts)
	}
	c := &cacheCounts{}
	for r := range c.requests {
		c.requests[r] = requests.WithLabelValues(name, cache.Result(r).String())
	}
	actual, _ := cc.caches.LoadOrStore(name, c)
	return actual.(*cacheCounts)
}

func (cc *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- cc.hitRate }

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	cc.caches.Range(func(name, v any) bool {
		c := v.(*cacheCounts)
		rate := 0.0
		if total := c.total.Load(); total > 0 {
			rate = float64(c.answered.Load()) / float64(total)
		}
		ch <- prometheus.MustNewConstMetric(cc.hitRate, prometheus.GaugeValue, rate, name.(string))
		return true
	})
}
