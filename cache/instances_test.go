package cache_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// instances returns n independent Caches, each over its own client to addr,
// as n processes of one service would have.
func instances(t *testing.T, n int, addr string, opts cache.Options) []*cache.Cache[product] {
	t.Helper()
	out := make([]*cache.Cache[product], n)
	for i := range out {
		out[i] = newCache(t, plain(t, addr), opts)
	}
	return out
}

// 8 instances × 25 callers ask for one cold key at once: the fill lock lets one
// instance load while the others wait for its value.
func TestOneLoadPerColdKeyAcrossInstances(t *testing.T) {
	srv := redistest.StartServer(t)
	// A generous budget: 200 callers on two cores under the race detector.
	caches := instances(t, 8, srv.Addr(), cache.Options{Prefix: "cold:", Timeout: time.Second})
	var loads atomic.Int64
	load := func(_ context.Context, id string) (product, error) {
		loads.Add(1)
		time.Sleep(20 * time.Millisecond) // a database query
		return product{ID: id, Name: "cold"}, nil
	}
	for round := range 3 {
		key := "k" + itoa(round)
		loads.Store(0)
		var calls []func() error
		for _, c := range caches {
			calls = append(calls, slices.Repeat([]func() error{func() error {
				p, err := c.Get(context.Background(), key, load)
				if err == nil && p.ID != key {
					err = fmt.Errorf("Get(%s) = %+v", key, p)
				}
				return err
			}}, 25)...)
		}
		atOnce(t, calls)
		t.Logf("round %d: %d loads for 8 instances × 25 callers", round+1, loads.Load())
		if n := loads.Load(); n > 2 {
			t.Fatalf("round %d: %d loads of one cold key by 8 instances, want at most 2", round+1, n)
		}
	}
}

// Without the fill lock each instance loads on its own: the lock is what
// makes the difference above.
func TestFillLockCanBeTurnedOff(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	caches := instances(t, 4, srv.Addr(), cache.Options{Prefix: "nolock:", Timeout: time.Second, DisableFillLock: true})
	var loads atomic.Int64
	load := func(_ context.Context, id string) (product, error) {
		loads.Add(1)
		time.Sleep(50 * time.Millisecond)
		return product{ID: id}, nil
	}
	var wg sync.WaitGroup
	for _, c := range caches {
		wg.Go(func() { _, _ = c.Get(context.Background(), "a", load) })
	}
	wg.Wait()
	if n := loads.Load(); n != 4 {
		t.Fatalf("%d loads by 4 instances without the fill lock, want 4", n)
	}
	if keys := direct.Keys(context.Background(), "*lease*").Val(); len(keys) != 0 {
		t.Fatalf("lock keys %q with the fill lock off", keys)
	}
}

// An instance that took the lease and died holds it for FillLockTTL: the
// others wait for its value as long as the lease lives, then load on their
// own.
func TestFillLockHolderGone(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	const leaseTTL = 300 * time.Millisecond
	c := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: "gone:", FillLockTTL: leaseTTL})
	if err := direct.Set(context.Background(), "{gone:a}\x00lease", "a dead instance's token", leaseTTL).Err(); err != nil {
		t.Fatal(err)
	}
	src := newSource(1)
	start := time.Now()
	p, err := c.Get(context.Background(), "a", src.load)
	took := time.Since(start)
	if err != nil || p != src.products["a"] {
		t.Fatalf("Get while a dead instance holds the lease: %+v, %v", p, err)
	}
	t.Logf("the Get waited %v for the lease holder, then loaded", took.Round(time.Millisecond))
	if took < leaseTTL/2 || took > leaseTTL+time.Second {
		t.Fatalf("the Get took %v: want a wait of about the lease's life (%v) for the holder's value", took, leaseTTL)
	}
	if n := src.loads.Load(); n != 1 {
		t.Fatalf("%d loads", n)
	}
}

// A hot key read continuously by 8 instances across 10 expiries: early
// refresh loads it before it expires, in one instance, so each expiry costs
// one load at most and no caller waits past the budget.
func TestHotKeyAcrossExpiries(t *testing.T) {
	srv := redistest.StartServer(t)
	const (
		ttl      = 300 * time.Millisecond
		expiries = 10
		budget   = 250 * time.Millisecond
		loadTime = 10 * time.Millisecond
	)
	caches := instances(t, 8, srv.Addr(), cache.Options{Prefix: "hot:", TTL: ttl, Jitter: -1, Timeout: budget})
	var loads atomic.Int64
	load := func(_ context.Context, id string) (product, error) {
		loads.Add(1)
		time.Sleep(loadTime)
		return product{ID: id}, nil
	}
	if _, err := caches[0].Get(context.Background(), "a", load); err != nil {
		t.Fatal(err)
	}
	loads.Store(0)
	stop := time.Now().Add(expiries * ttl)
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	for _, c := range caches {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(stop) {
				start := time.Now()
				if _, err := c.Get(context.Background(), "a", load); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	worst := latencies[len(latencies)-1]
	var refreshes uint64
	for _, c := range caches {
		refreshes += c.Stats().EarlyRefreshes
	}
	t.Logf("%d Gets over %d expiries: %d loads (%d early refreshes), p99 %v, max %v",
		len(latencies), expiries, loads.Load(), refreshes, latencies[len(latencies)*99/100].Round(time.Microsecond), worst.Round(time.Microsecond))
	// The run spans 10 TTLs from whatever phase the value is in, and each
	// refresh comes a little before the expiry: 11 values at most.
	if n := loads.Load(); n > expiries+1 {
		t.Fatalf("%d loads over %d expiries of a hot key: want at most one per expiry", n, expiries)
	}
	if worst > budget+loadTime+100*time.Millisecond {
		t.Fatalf("a Get took %v, more than the budget %v and a load", worst, budget)
	}
}

// At a 60 ms round trip and a 100 ms budget, a miss never takes longer than
// two budgets (the read, then the lease step that must come before the load)
// plus the loader's time: each Redis operation of the Get has the budget, and
// the value is stored after the answer when Redis is slow.
func TestMissWithinBudgetAtHighLatency(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const (
		budget   = 100 * time.Millisecond
		loadTime = 20 * time.Millisecond
		misses   = 30
	)
	c := newCache(t, plain(t, proxy.Addr()), cache.Options{Prefix: "slow:", Timeout: budget})
	load := func(ctx context.Context, id string) (product, error) {
		time.Sleep(loadTime)
		return product{ID: id}, nil
	}
	// Warm the pool so that the fault is latency, not dialing.
	for i := range 5 {
		if _, err := c.Get(context.Background(), "warm"+itoa(i), load); err != nil {
			t.Fatal(err)
		}
	}
	proxy.Latency(30 * time.Millisecond) // each way: a 60 ms round trip
	var latencies []time.Duration
	for i := range misses {
		start := time.Now()
		p, err := c.Get(context.Background(), "cold"+itoa(i), load)
		latencies = append(latencies, time.Since(start))
		if err != nil || p.ID != "cold"+itoa(i) {
			t.Fatalf("Get: %+v, %v", p, err)
		}
	}
	slices.Sort(latencies)
	worst := latencies[len(latencies)-1]
	s := c.Stats()
	t.Logf("60 ms round trip, budget %v, loader %v: %d misses, p50 %v, max %v; %d answered as fallbacks", budget, loadTime, misses,
		latencies[misses/2].Round(time.Millisecond), worst.Round(time.Millisecond), s.Fallbacks)
	if limit := 2*budget + loadTime + 50*time.Millisecond; worst > limit {
		t.Fatalf("a miss took %v: more than two budgets and the loader's time (%v with slack)", worst, limit)
	}
	// The values are stored all the same, after the answer.
	direct := srv.Client(t)
	redistest.Eventually(t, 5*time.Second, "the missed values stored", func() bool {
		return direct.Exists(context.Background(), "slow:cold0", "slow:cold"+itoa(misses-1)).Val() == 2
	})
}
