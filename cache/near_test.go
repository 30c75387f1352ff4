package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// nearCache returns a Cache with a near tier over its own client to addr.
func nearCache(t testing.TB, addr string, nopts cache.NearOptions, opts cache.Options) (*cache.Cache[product], *cache.Near) {
	t.Helper()
	near := newNear(t, nopts)
	opts.Near = near
	return newCache(t, plain(t, addr, near), opts), near
}

// A second Get of a key is answered from memory, without a Redis call, and a
// cached not-found too.
func TestNearServesHitsFromMemory(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c, near := nearCache(t, proxy.Addr(), cache.NearOptions{}, cache.Options{Prefix: "n:", NegativeTTL: time.Minute})
	src := newSource(2)
	ctx := context.Background()
	for _, id := range []string{"a", "missing"} {
		_, _ = c.Get(ctx, id, src.load)
	}
	// The first reads of a key fill the near tier; from then on, no Redis call.
	for _, id := range []string{"a", "missing"} {
		_, _ = c.Get(ctx, id, src.load)
	}
	before := proxy.Requests()
	for range 100 {
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("near hit: %+v, %v", p, err)
		}
		if _, err := c.Get(ctx, "missing", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("near negative hit: %v", err)
		}
	}
	if n := proxy.Requests() - before; n != 0 {
		t.Fatalf("%d requests reached Redis for 200 Gets of keys in the near tier", n)
	}
	s := c.Stats()
	if s.NearHits < 100 || s.NearNegativeHits < 100 {
		t.Fatalf("stats %+v: want the 200 Gets counted as near hits", s)
	}
	if ns := near.Stats(); ns.Entries != 2 || ns.Fills < 2 {
		t.Fatalf("near stats %+v", ns)
	}
	if n := src.loads.Load(); n != 2 {
		t.Fatalf("%d loads", n)
	}
}

// It works through a redisguard client as well.
func TestNearThroughRedisguard(t *testing.T) {
	srv := redistest.StartServer(t)
	near := newNear(t, cache.NearOptions{})
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{
		Addrs: []string{srv.Addr()}, Protocol: 3, ClientSideCache: near,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, rdb, cache.Options{Prefix: "g:", Near: near})
	src := newSource(1)
	for range 10 {
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatal(p, err)
		}
	}
	// The first Get loads, the next reads Redis; a read of the store's
	// invalidation may cost one more.
	if s := c.Stats(); s.NearHits < 7 {
		t.Fatalf("stats %+v: want near hits through a redisguard client", s)
	}
	c.Close()
}

// Another instance's write is seen by a near-cache reader within the
// invalidation delay: 50 ms at p99.
func TestNearSeesAnotherInstancesWrite(t *testing.T) {
	srv := redistest.StartServer(t)
	reader, _ := nearCache(t, srv.Addr(), cache.NearOptions{}, cache.Options{Prefix: "w:"})
	writer := newCache(t, plain(t, srv.Addr(), nil), cache.Options{Prefix: "w:"})
	ctx := context.Background()
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	if err := writer.Set(ctx, "a", product{ID: "a", Price: 0}); err != nil {
		t.Fatal(err)
	}
	const writes = 50
	var delays []time.Duration
	for i := 1; i <= writes; i++ {
		// Read until the value is in the near tier.
		redistest.Eventually(t, 5*time.Second, "the value in the near tier", func() bool {
			before := reader.Stats().NearHits
			_, _ = reader.Get(ctx, "a", never)
			return reader.Stats().NearHits > before
		})
		want := product{ID: "a", Price: float64(i)}
		if err := writer.Set(ctx, "a", want); err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		for {
			p, err := reader.Get(ctx, "a", never)
			if err != nil {
				t.Fatal(err)
			}
			if p == want {
				delays = append(delays, time.Since(written))
				break
			}
			if time.Since(written) > 5*time.Second {
				t.Fatalf("write %d not seen after 5s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	slices.Sort(delays)
	p50, p99, worst := delays[writes/2], delays[writes*99/100], delays[writes-1]
	t.Logf("another instance's SET seen by a near-cache reader after: p50 %v, p99 %v, max %v",
		p50.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond))
	if p99 > 50*time.Millisecond {
		t.Fatalf("p99 %v: want another instance's write seen within 50 ms", p99)
	}
}

// With Redis killed, the near tier stops serving: at once, as go-redis drops
// the connections the values were read on, and in any case within
// MaxStaleness.
func TestNearStopsServingWhenRedisIsKilled(t *testing.T) {
	srv := redistest.StartServer(t)
	const maxStaleness = time.Second
	c, _ := nearCache(t, srv.Addr(), cache.NearOptions{MaxStaleness: maxStaleness}, cache.Options{Prefix: "k:"})
	src := newSource(1)
	ctx := context.Background()
	redistest.Eventually(t, 5*time.Second, "a near hit", func() bool {
		before := c.Stats().NearHits
		_, _ = c.Get(ctx, "a", src.load)
		return c.Stats().NearHits > before
	})
	srv.Kill()
	killed := time.Now()
	var last time.Duration
	for time.Since(killed) < maxStaleness+500*time.Millisecond {
		before := c.Stats().NearHits
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("Get with Redis killed: %+v, %v", p, err)
		}
		if c.Stats().NearHits > before {
			last = time.Since(killed)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("last near hit %v after Redis was killed (MaxStaleness %v)", last.Round(time.Microsecond), maxStaleness)
	if last > maxStaleness {
		t.Fatalf("a near hit %v after Redis was killed: past MaxStaleness %v", last, maxStaleness)
	}
}

// When invalidations are lost (a partition that leaves the connection open),
// a value is served from memory at most MaxStaleness after it was read.
func TestNearBoundsStalenessWhenInvalidationsAreLost(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const maxStaleness = 500 * time.Millisecond
	reader, _ := nearCache(t, proxy.Addr(), cache.NearOptions{MaxStaleness: maxStaleness}, cache.Options{Prefix: "b:"})
	writer := newCache(t, plain(t, srv.Addr(), nil), cache.Options{Prefix: "b:"})
	src := newSource(1)
	old := src.products["a"]
	ctx := context.Background()
	var readAt time.Time
	redistest.Eventually(t, 5*time.Second, "the value in the near tier", func() bool {
		before := reader.Stats().NearHits
		if _, err := reader.Get(ctx, "a", src.load); err != nil {
			t.Fatal(err)
		}
		if reader.Stats().NearHits > before {
			return true
		}
		readAt = time.Now() // the last read from Redis
		return false
	})
	proxy.Blackhole()
	updated := product{ID: "a", Name: "new", Price: 3}
	if err := writer.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatal(err)
	}
	lastOld := lastServed(t, reader, src, "a", old, readAt.Add(maxStaleness+time.Second))
	t.Logf("with invalidations lost, the old value was served until %v after it was read (MaxStaleness %v)",
		lastOld.Sub(readAt).Round(time.Millisecond), maxStaleness)
	if lastOld.Sub(readAt) > maxStaleness {
		t.Fatalf("the old value was served %v after it was read: past MaxStaleness %v", lastOld.Sub(readAt), maxStaleness)
	}
	proxy.Heal()
}

// An Update of this process is never followed by a read of the old value from
// its own memory.
func TestNearReadsItsOwnWrites(t *testing.T) {
	srv := redistest.StartServer(t)
	c, _ := nearCache(t, srv.Addr(), cache.NearOptions{}, cache.Options{Prefix: "own:"})
	src := newSource(1)
	ctx := context.Background()
	for i := range 50 {
		for range 3 {
			if _, err := c.Get(ctx, "a", src.load); err != nil {
				t.Fatal(err)
			}
		}
		want := product{ID: "a", Price: float64(i)}
		if err := c.Update(ctx, "a", want, src.write); err != nil {
			t.Fatal(err)
		}
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != want {
			t.Fatalf("Get right after Update: %+v, %v, want %+v", p, err, want)
		}
	}
	if c.Stats().NearHits == 0 {
		t.Fatal("no near hit: the test proves nothing")
	}
}

// Entries are bounded in number: evictions keep the near tier within
// MaxEntries, and are counted.
func TestNearIsBounded(t *testing.T) {
	srv := redistest.StartServer(t)
	var results resultLog
	c, near := nearCache(t, srv.Addr(), cache.NearOptions{MaxEntries: 50}, cache.Options{Prefix: "bound:", Observer: results.record})
	ctx := context.Background()
	load := func(_ context.Context, id string) (product, error) { return product{ID: id}, nil }
	for round := range 2 {
		for i := range 200 {
			if p, err := c.Get(ctx, itoa(i), load); err != nil || p.ID != itoa(i) {
				t.Fatalf("round %d: %+v, %v", round, p, err)
			}
		}
	}
	ns := near.Stats()
	t.Logf("near stats after 400 Gets of 200 keys with MaxEntries 50: %+v", ns)
	if ns.Entries > 50+16 || ns.Evictions == 0 {
		t.Fatalf("near stats %+v: want at most about 50 entries, and evictions", ns)
	}
	if s := c.Stats(); s.NearEvictions != ns.Evictions || results.count(cache.ResultNearEviction) != int(ns.Evictions) {
		t.Fatalf("stats %+v: evictions not counted", s)
	}
}

// tagged is a value with a slice: shared by the callers of near hits.
type tagged struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags"`
}

// Values served from memory are shared. Readers that only read them are
// safe with each other (under -race), and a caller that changes its copy of a
// struct value changes only that copy.
func TestNearValuesAreSharedSafely(t *testing.T) {
	srv := redistest.StartServer(t)
	near := newNear(t, cache.NearOptions{})
	c, err := cache.New[tagged](plain(t, srv.Addr(), near), cache.Options{Prefix: "s:", TTL: time.Minute, Near: near})
	if err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	ctx := context.Background()
	load := func(_ context.Context, id string) (tagged, error) {
		return tagged{ID: id, Tags: []string{"x", "y"}}, nil
	}
	for range 3 {
		if _, err := c.Get(ctx, "a", load); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				v, err := c.Get(ctx, "a", load)
				if err != nil || strings.Join(v.Tags, ",") != "x,y" {
					t.Errorf("%+v, %v", v, err)
					return
				}
				v.ID = "changed by a caller" // its own copy of the struct
			}
		})
	}
	wg.Wait()
	if v, _ := c.Get(ctx, "a", load); v.ID != "a" {
		t.Fatalf("a caller's change reached the shared value: %+v", v)
	}
	if c.Stats().NearHits < 8000 {
		t.Fatalf("stats %+v: the reads were not near hits", c.Stats())
	}
}

// Two Caches on one Near must not claim the same keys, and a client that does
// not cache into the Near is refused.
func TestNearRegistration(t *testing.T) {
	srv := redistest.StartServer(t)
	near := newNear(t, cache.NearOptions{})
	rdb := plain(t, srv.Addr(), near)
	newCache(t, rdb, cache.Options{Prefix: "product:", Near: near})
	for _, prefix := range []string{"product:", "product:eu:", "prod", ""} {
		if _, err := cache.New[product](rdb, cache.Options{Prefix: prefix, TTL: time.Minute, Near: near}); !errors.Is(err, cache.ErrInvalidOptions) {
			t.Errorf("a second Cache with Prefix %q on the Near: %v, want ErrInvalidOptions", prefix, err)
		}
	}
	other := newCache(t, rdb, cache.Options{Prefix: "user:", Near: near})
	other.Close() // its prefix is free again
	newCache(t, rdb, cache.Options{Prefix: "user:", Near: near})
	_, err := cache.New[product](plain(t, srv.Addr(), nil), cache.Options{TTL: time.Minute, Near: near})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "ClientSideCache") {
		t.Errorf("a client without the Near as its ClientSideCache: %v", err)
	}
}

func ExampleNear() {
	near, err := cache.NewNear(cache.NearOptions{MaxEntries: 50_000, MaxStaleness: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{
		Addrs:           []string{"127.0.0.1:6379"},
		Protocol:        3, // client-side caching needs RESP3
		ClientSideCache: near,
	}})
	if err != nil {
		panic(err)
	}
	defer rdb.Close()
	products, err := cache.New[product](rdb, cache.Options{Prefix: "product:", TTL: 10 * time.Minute, Near: near})
	if err != nil {
		panic(err)
	}
	defer products.Close()
	p, err := products.Get(context.Background(), "42", func(ctx context.Context, id string) (product, error) {
		return product{ID: id}, nil // the database
	})
	fmt.Println(p.ID, err, products.Stats().NearHits, near.Stats().Entries)
}
