package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/stripe"
)

// ObserveCache counts one result of the named cache. Pass it as
// cache.Options.Observer.
func (m *Metrics) ObserveCache(name string, r cache.Result) {
	m.caches.of(name, m.cacheReqs, m.cacheEvents).observe(r)
}

// cacheCounts are the series and counts of one cache, resolved once so that
// observing a result allocates nothing.
type cacheCounts struct {
	results         [cache.ResultNearEviction + 1]prometheus.Counter // requests by result, then events
	answered, total atomic.Uint64                                    // for the hit rate
	// nearHits counts the near tier's hits on the stripe of the core that
	// served each, so that a hit writes no line other cores write; a scrape
	// adds what came since the last one to their series (flush).
	nearHits stripe.Counter
	mu       sync.Mutex // serializes flushes
	flushed  uint64     // nearHits already in their series
}

// observe counts a key served (a request, and the hit rate) or an event of the
// cache's invalidations and near tier.
func (cc *cacheCounts) observe(r cache.Result) {
	if r == cache.ResultNearHit {
		cc.nearHits.Add()
		return
	}
	if int(r) < len(cc.results) {
		cc.results[r].Inc()
	}
	if !r.Served() {
		return
	}
	cc.total.Add(1)
	if r.Hit() {
		cc.answered.Add(1)
	}
}

// flush adds the near hits counted since the last flush to their series, and
// returns them all.
func (cc *cacheCounts) flush() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := cc.nearHits.Load()
	cc.results[cache.ResultNearHit].Add(float64(n - cc.flushed))
	cc.flushed = n
	return n
}

// cacheCollector exports each cache's hit rate at scrape time.
type cacheCollector struct {
	hitRate *prometheus.Desc
	caches  sync.Map // name → *cacheCounts
}

func newCacheCollector(ns string, labels prometheus.Labels) *cacheCollector {
	return &cacheCollector{hitRate: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "cache_hit_rate"),
		"Share of the keys a cache served without its loader (hits and cached not-founds, from Redis or its near tier), since start.", []string{"cache"}, labels)}
}

func (cc *cacheCollector) of(name string, requests, events *prometheus.CounterVec) *cacheCounts {
	if c, ok := cc.caches.Load(name); ok {
		return c.(*cacheCounts)
	}
	c := &cacheCounts{}
	for r := range c.results {
		if result := cache.Result(r); result.Served() {
			c.results[r] = requests.WithLabelValues(name, result.String())
		} else {
			c.results[r] = events.WithLabelValues(name, result.String())
		}
	}
	actual, _ := cc.caches.LoadOrStore(name, c)
	return actual.(*cacheCounts)
}

func (cc *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- cc.hitRate }

// flush brings every cache's near-hit series up to date; Metrics.Collect
// calls it before collecting the series.
func (cc *cacheCollector) flush() {
	cc.caches.Range(func(_, v any) bool {
		v.(*cacheCounts).flush()
		return true
	})
}

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	cc.caches.Range(func(name, v any) bool {
		c := v.(*cacheCounts)
		rate := 0.0
		near := c.flush()
		if total := c.total.Load() + near; total > 0 {
			rate = float64(c.answered.Load()+near) / float64(total)
		}
		ch <- prometheus.MustNewConstMetric(cc.hitRate, prometheus.GaugeValue, rate, name.(string))
		return true
	})
}
