package metrics_test

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/metrics"
)

// Near hits observed from many goroutines at once are counted apart from the
// other results (a hit writes no line that other cores write) and exported
// exactly, as requests and in the hit rate, by every scrape.
func TestCacheNearHitsFromManyGoroutines(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveCache("p", cache.ResultMiss)
	const goroutines, hits = 16, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range hits {
				m.ObserveCache("p", cache.ResultNearHit)
			}
		}()
	}
	wg.Wait()
	for scrape := range 2 { // a second scrape adds nothing twice
		g := gather(t, reg)
		if got := g.value("redis_cache_requests_total", "cache=p", "result=near_hit"); got != goroutines*hits {
			t.Fatalf("scrape %d: near_hit = %v, want %d", scrape, got, goroutines*hits)
		}
		if got, want := g.value("redis_cache_hit_rate", "cache=p"), float64(goroutines*hits)/float64(goroutines*hits+1); got != want {
			t.Fatalf("scrape %d: hit rate = %v, want %v", scrape, got, want)
		}
	}
	m.ObserveCache("p", cache.ResultNearHit)
	if got := gather(t, reg).value("redis_cache_requests_total", "cache=p", "result=near_hit"); got != goroutines*hits+1 {
		t.Fatalf("after one more hit: near_hit = %v, want %d", got, goroutines*hits+1)
	}
	if n := testing.AllocsPerRun(100, func() { m.ObserveCache("p", cache.ResultNearHit) }); n != 0 {
		t.Fatalf("observing a near hit allocates %v times", n)
	}
}

// The cost of counting a near hit, from every core at once.
func BenchmarkObserveNearHit(b *testing.B) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveCache("p", cache.ResultNearHit)
		}
	})
}
