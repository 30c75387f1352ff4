package redisguard_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// productService is a cache in front of a database, over one guarded client
// that reaches Redis through its own fault proxy, under 250 Gets a second,
// with the hits counted per second.
type productService struct {
	proxy *redistest.Proxy
	rdb   *redisguard.Client
	cache *cache.Cache[string]
	start time.Time
	mu    sync.Mutex
	gets  map[int][2]int // second since start → Gets, hits
}

func startProductService(t *testing.T, srv *redistest.Server, name string, dialRate int) *productService {
	t.Helper()
	s := &productService{proxy: redistest.NewProxy(t, srv.Addr()), gets: make(map[int][2]int)}
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: []string{s.proxy.Addr()}, PoolSize: 50}, DialRate: dialRate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.rdb = rdb
	s.cache, err = cache.New[string](rdb, cache.Options{Prefix: name + ":", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cache.Close() })
	return s
}

// run sends 250 Gets a second over 50 products until stop.
func (s *productService) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	s.start = time.Now()
	tick := time.NewTicker(4 * time.Millisecond)
	wg.Go(func() {
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			wg.Go(func() {
				var loaded atomic.Bool
				began := time.Now()
				_, err := s.cache.Get(context.Background(), fmt.Sprint(i%50), func(context.Context, string) (string, error) {
					loaded.Store(true)
					return "a product", nil
				})
				sec := int(began.Sub(s.start) / time.Second)
				s.mu.Lock()
				c := s.gets[sec]
				c[0]++
				if err == nil && !loaded.Load() {
					c[1]++
				}
				s.gets[sec] = c
				s.mu.Unlock()
			})
		}
	})
}

// hitRates returns the hit rate of every second from from to to.
func (s *productService) hitRates(from, to int) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rates []float64
	for sec := from; sec < to; sec++ {
		c := s.gets[sec]
		rates = append(rates, float64(c[1])/float64(max(c[0], 1)))
	}
	return rates
}

// After a latency spike the link is slower but within the cache's 100 ms
// budget: the hits come back within 5 s of the spike's end, as they do with
// a dial rate that does not pace at all. The connections the spike threw
// away are replaced as fast as the server answers their drained replies,
// and the pool does not stay too small for the budget.
//
// It holds on a host with cores to spare, not while the host's CPU is
// saturated (the rest of the suite running beside it under the race
// detector): there both clients fall into a stuck pool after the spike, and
// which escapes first varies from run to run (docs/RELIABILITY.md), so the
// comparison failed in 1 of 5 loaded runs. So it runs when REDISGUARD_SOAK=1,
// on a quiet host (docs/TESTING.md).
func TestLatencySpikeDoesNotLeaveTheCacheStuck(t *testing.T) {
	if os.Getenv("REDISGUARD_SOAK") != "1" {
		t.Skip("a 21 s load test that needs an otherwise idle host: set REDISGUARD_SOAK=1 to run it")
	}
	srv := redistest.StartServer(t)
	paced := startProductService(t, srv, "paced", 0)
	unpaced := startProductService(t, srv, "unpaced", 1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range []*productService{paced, unpaced} {
		s.run(stop, &wg)
	}
	const warm, spike, after = 3, 3, 15 // seconds
	time.Sleep(warm * time.Second)
	for _, s := range []*productService{paced, unpaced} {
		s.proxy.Latency(250 * time.Millisecond) // 500 ms a round trip
	}
	time.Sleep(spike * time.Second)
	for _, s := range []*productService{paced, unpaced} {
		s.proxy.Latency(25 * time.Millisecond) // 50 ± 30 ms a round trip
		s.proxy.Jitter(15 * time.Millisecond)
	}
	time.Sleep(after * time.Second)
	close(stop)
	wg.Wait()

	// The host's own stalls (other processes' load) hit both clients at the
	// same moments: the paced client is judged against the unpaced one.
	type summary struct {
		back int     // the first second with hits above 90 %, from 1; len+1 when none
		late float64 // the mean hit rate from the 5th second on
	}
	sum := func(name string, svc *productService) summary {
		rates := svc.hitRates(warm+spike, warm+spike+after)
		r := summary{back: len(rates) + 1}
		for i, rate := range rates {
			if rate >= 0.9 {
				r.back = i + 1
				break
			}
		}
		for _, rate := range rates[4:] {
			r.late += rate / float64(len(rates)-4)
		}
		t.Logf("%s: hit rate per second after the spike %.2f; above 90%% in second %d; mean from the 5th second %.2f; %d connections dialed",
			name, rates, r.back, r.late, svc.proxy.Accepted())
		return r
	}
	t.Logf("hit rate per second before the spike's end: DialRate 5 %.2f, DialRate 1000 %.2f", paced.hitRates(0, warm+spike), unpaced.hitRates(0, warm+spike))
	p, u := sum("DialRate 5 (default)", paced), sum("DialRate 1000", unpaced)
	// A host too loaded for the unpaced client to be back within 5 s says
	// nothing of the pacing's: then only the means are compared.
	if u.back <= 5 && p.back > max(5, u.back+1) {
		t.Errorf("hits above 90%% again in second %d after the spike's end (DialRate 1000: %d), want within 5 s", p.back, u.back)
	}
	if p.late < u.late-0.15 {
		t.Errorf("hit rate from the 5th second after the spike %.2f (DialRate 1000: %.2f): the pool stays too small", p.late, u.late)
	}
}
