package cache_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/cache"
)

type product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// source is a product database that counts its loads.
type source struct {
	mu       sync.Mutex
	products map[string]product
	loads    atomic.Int64
	keys     [][]string // the keys of every batch load, in order
	delay    time.Duration
}

func newSource(n int) *source {
	s := &source{products: map[string]product{}}
	for i := range n {
		id := string(rune('a' + i))
		s.products[id] = product{ID: id, Name: "product " + id, Price: float64(i) + 0.5}
	}
	return s
}

func (s *source) load(ctx context.Context, id string) (product, error) {
	s.loads.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return product{}, cache.ErrNotFound
	}
	return p, nil
}

func (s *source) loadMany(ctx context.Context, ids []string) (map[string]product, error) {
	s.loads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, append([]string(nil), ids...))
	out := map[string]product{}
	for _, id := range ids {
		if p, ok := s.products[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

func (s *source) write(ctx context.Context, p product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.products[p.ID] = p
	return nil
}

// guarded returns a redisguard client to addr that notices a dead or paused
// server fast, closed when the test ends. edit, if given, adjusts the
// options first.
func guarded(t testing.TB, addr string, edit ...func(*redisguard.Options)) *redisguard.Client {
	t.Helper()
	opts := redisguard.Options{
		Redis:          &redis.UniversalOptions{Addrs: []string{addr}, ReadTimeout: 200 * time.Millisecond},
		ConnectTimeout: 300 * time.Millisecond,
		Reconnect:      redisguard.ExponentialBackoff{MaxRetries: -1},
	}
	for _, e := range edit {
		e(&opts)
	}
	c, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// lastServed reads id through c, from src on a miss, every 2 ms until until,
// and returns when c last served old: how long a stale value outlived what
// should have removed it. It is the zero time when c never served old.
func lastServed(t testing.TB, c *cache.Cache[product], src *source, id string, old product, until time.Time) time.Time {
	t.Helper()
	ctx := context.Background()
	var last time.Time
	for time.Now().Before(until) {
		p, err := c.Get(ctx, id, src.load)
		if err != nil {
			t.Fatal(err)
		}
		if p == old {
			last = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	return last
}

// atOnce runs every call in a goroutine of its own, all released at the
// same moment, as a stampede of callers arrives, and fails the test with the
// first error any of them returned once all have returned.
func atOnce(t testing.TB, calls []func() error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, len(calls))
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Go(func() {
			<-start
			errs <- call()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newCache(t testing.TB, rdb redis.UniversalClient, opts cache.Options) *cache.Cache[product] {
	t.Helper()
	if opts.TTL == 0 {
		opts.TTL = time.Minute
	}
	c, err := cache.New[product](rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }

// plain returns a go-redis client to addr that honours context deadlines on
// the socket, closed when the test ends.
func plain(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// closeCache closes c when the test ends, so that its background work is
// over before the goroutine-leak check.
func closeCache[V any](t testing.TB, c *cache.Cache[V]) *cache.Cache[V] {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	return c
}

// newNear returns a Near with opts.
func newNear(t testing.TB, opts cache.NearOptions) *cache.Near {
	t.Helper()
	n, err := cache.NewNear(opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// resultLog records what an Observer saw.
type resultLog struct {
	mu      sync.Mutex
	results []cache.Result
}

func (l *resultLog) record(_ string, r cache.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = append(l.results, r)
}

func (l *resultLog) count(r cache.Result) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, got := range l.results {
		if got == r {
			n++
		}
	}
	return n
}

// breakerState is the state of rdb's breaker.
func breakerState(rdb *redisguard.Client) breaker.State {
	s, _ := rdb.Breaker()
	return s.State
}
