package cache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestHitMissAndTTL(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	for _, client := range []struct {
		name string
		rdb  redis.UniversalClient
	}{
		{"redisguard", guarded(t, srv.Addr())},
		{"plain go-redis", redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})},
	} {
		t.Run(client.name, func(t *testing.T) {
			src := newSource(3)
			ttl := 10 * time.Minute
			c := newCache(t, client.rdb, cache.Options{Prefix: client.name + ":", TTL: ttl})
			ctx := context.Background()

			p, err := c.Get(ctx, "a", src.load)
			if err != nil || p != src.products["a"] {
				t.Fatalf("miss: %+v, %v", p, err)
			}
			p, err = c.Get(ctx, "a", src.load)
			if err != nil || p != src.products["a"] {
				t.Fatalf("hit: %+v, %v", p, err)
			}
			if n := src.loads.Load(); n != 1 {
				t.Fatalf("%d loads for a miss and a hit", n)
			}
			if s := c.Stats(); s.Hits != 1 || s.Misses != 1 || s.HitRate() != 0.5 {
				t.Fatalf("stats %+v, hit rate %v", s, s.HitRate())
			}
			raw, err := direct.Get(ctx, client.name+":a").Result()
			if err != nil || !strings.Contains(raw, `"name":"product a"`) {
				t.Fatalf("stored %q, %v: want the product as JSON", raw, err)
			}
			// Each TTL lies within ±10 % of the configured one.
			for _, id := range []string{"b", "c"} {
				if _, err := c.Get(ctx, id, src.load); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{"a", "b", "c"} {
				pttl := direct.PTTL(ctx, client.name+":"+id).Val()
				if lo, hi := time.Duration(0.9*float64(ttl)), time.Duration(1.1*float64(ttl)); pttl < lo-time.Second || pttl > hi {
					t.Fatalf("PTTL of %s: %v, outside [%v, %v]", id, pttl, lo, hi)
				}
			}
		})
		if c, ok := client.rdb.(*redis.Client); ok {
			c.Close()
		}
	}
}

func TestJitterSpreadsTTLs(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr())
	direct := srv.Client(t)
	ttl := time.Hour
	c, err := cache.New[string](rdb, cache.Options{Prefix: "j:", TTL: ttl, Jitter: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[time.Duration]bool{}
	for i := range 50 {
		key := string(rune('A' + i))
		if err := c.Set(ctx, key, "v"); err != nil {
			t.Fatal(err)
		}
		pttl := direct.PTTL(ctx, "j:"+key).Val().Round(time.Second)
		if pttl < 48*time.Minute-time.Second || pttl > 72*time.Minute {
			t.Fatalf("PTTL %v outside ±20 %% of %v", pttl, ttl)
		}
		seen[pttl] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct TTLs among 50 keys", len(seen))
	}
}

func TestStampedeLoadsOnce(t *testing.T) {
	srv := redistest.StartServer(t)
	src := newSource(1)
	src.delay = 50 * time.Millisecond
	// A generous budget: 1000 callers queue for a pool of 10 connections per CPU; on
	// a loaded machine a GET past the default 100 ms budget is a fallback, whose
	// load is rightly its own once the shared one has finished. Coalescing is
	// what this test is about.
	var fallbacks atomic.Int64
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{
		Prefix:     "stampede:",
		Timeout:    5 * time.Second,
		OnFallback: func(string, error) { fallbacks.Add(1) },
	})
	const callers = 1000
	atOnce(t, slices.Repeat([]func() error{func() error {
		p, err := c.Get(context.Background(), "a", src.load)
		if err == nil && p != src.products["a"] {
			err = fmt.Errorf("Get(a) = %+v, want %+v", p, src.products["a"])
		}
		return err
	}}, callers))
	// A caller whose GET failed (on a machine loaded enough to overrun even
	// this budget, or to make the client lose its server for a moment) may
	// load on its own, as a fallback, or share a load that fell back: every
	// other one shares.
	if n := src.loads.Load(); n < 1 || n > 1+fallbacks.Load() {
		t.Fatalf("the loader ran %d times for %d callers of one cold key (%d fallbacks)", n, callers, fallbacks.Load())
	}
	if s := c.Stats(); s.Requests() != callers {
		t.Fatalf("stats count %d requests, want %d: %+v", s.Requests(), callers, s)
	}
}

func TestCorruptValueIsAMiss(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	src := newSource(1)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "p:"})
	ctx := context.Background()
	if err := direct.Set(ctx, "p:a", "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	p, err := c.Get(ctx, "a", src.load)
	if err != nil || p != src.products["a"] {
		t.Fatalf("Get over a corrupt value: %+v, %v", p, err)
	}
	if s := c.Stats(); s.Corrupt != 1 || s.Hits != 0 {
		t.Fatalf("stats %+v, want one corrupt", s)
	}
	raw, _ := direct.Get(ctx, "p:a").Result()
	if !strings.Contains(raw, "product a") {
		t.Fatalf("Redis holds %q after the corrupt value was replaced", raw)
	}
	// The corrupt value was deleted before the load: with the source failing,
	// nothing corrupt is left behind.
	if err := direct.Set(ctx, "p:a", "{still not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("source down")
	if _, err := c.Get(ctx, "a", func(context.Context, string) (product, error) { return product{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("Get with a failing source: %v", err)
	}
	if n, _ := direct.Exists(ctx, "p:a").Result(); n != 0 {
		t.Fatal("the corrupt value was not deleted")
	}
}

func TestNegativeCaching(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	rdb := guarded(t, srv.Addr())
	ctx := context.Background()

	src := newSource(1)
	off := newCache(t, rdb, cache.Options{Prefix: "off:"})
	for range 3 {
		if _, err := off.Get(ctx, "missing", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get of a missing record: %v", err)
		}
	}
	if n := src.loads.Load(); n != 3 {
		t.Fatalf("without NegativeTTL: %d loads for 3 Gets, want 3", n)
	}

	src = newSource(1)
	on := newCache(t, rdb, cache.Options{Prefix: "on:", NegativeTTL: 30 * time.Second})
	for range 3 {
		if _, err := on.Get(ctx, "missing", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get of a missing record: %v", err)
		}
	}
	if n := src.loads.Load(); n != 1 {
		t.Fatalf("with NegativeTTL: %d loads for 3 Gets, want 1", n)
	}
	if s := on.Stats(); s.NegativeHits != 2 || s.Misses != 1 {
		t.Fatalf("stats %+v", s)
	}
	if pttl := direct.PTTL(ctx, "on:missing").Val(); pttl <= 0 || pttl > 30*time.Second {
		t.Fatalf("the not-found lives %v, want at most NegativeTTL", pttl)
	}
}

func TestLoaderErrorsAreNotCached(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "e:", NegativeTTL: time.Minute})
	ctx := context.Background()
	boom := errors.New("database unavailable")
	calls := 0
	failing := func(context.Context, string) (product, error) { calls++; return product{}, boom }
	for range 2 {
		if _, err := c.Get(ctx, "a", failing); !errors.Is(err, boom) {
			t.Fatalf("Get: %v, want the loader's error", err)
		}
	}
	if calls != 2 {
		t.Fatalf("the loader ran %d times for 2 Gets: its error was cached", calls)
	}
	src := newSource(1)
	if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
		t.Fatalf("Get after the source recovered: %+v, %v", p, err)
	}
	if s := c.Stats(); s.LoadErrors != 2 {
		t.Fatalf("stats %+v, want 2 load errors", s)
	}
}

func TestPanickingLoaderReleasesEveryWaiter(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "panic:"})
	release := make(chan struct{})
	panicking := func(context.Context, string) (product, error) {
		<-release
		panic("loader bug")
	}
	const waiters = 20
	errs := make(chan error, waiters)
	for range waiters {
		go func() {
			_, err := c.Get(context.Background(), "a", panicking)
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // every waiter joins the load
	close(release)
	for range waiters {
		select {
		case err := <-errs:
			if !errors.Is(err, cache.ErrLoaderPanic) || !strings.Contains(err.Error(), "loader bug") {
				t.Fatalf("waiter got %v, want ErrLoaderPanic with the panic value", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter is still blocked after the loader panicked")
		}
	}
}

func TestCancelledCallerLeavesTheLoadToTheOthers(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "cancel:"})
	src := newSource(1)
	release := make(chan struct{})
	slow := func(ctx context.Context, id string) (product, error) {
		<-release
		if ctx.Err() != nil {
			return product{}, ctx.Err()
		}
		return src.load(ctx, id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "a", slow)
		first <- err
	}()
	time.Sleep(50 * time.Millisecond) // the first caller starts the load
	second := make(chan error, 1)
	go func() {
		p, err := c.Get(context.Background(), "a", slow)
		if err == nil && p != src.products["a"] {
			err = errors.New("wrong value")
		}
		second <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("the other caller: %v, want the loaded value", err)
	}
	if n := src.loads.Load(); n != 1 {
		t.Fatalf("%d loads, want the one load shared", n)
	}
}

func TestBadInput(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr())
	for _, opts := range []cache.Options{
		{TTL: 0},
		{TTL: -time.Second},
		{TTL: time.Minute, Jitter: 1},
		{TTL: time.Minute, Jitter: -0.5},
		{TTL: time.Minute, Jitter: 1.5},
		{TTL: time.Minute, NegativeTTL: -time.Second},
		{TTL: time.Minute, Timeout: -time.Second},
	} {
		if _, err := cache.New[product](rdb, opts); !errors.Is(err, cache.ErrInvalidOptions) {
			t.Errorf("New(%+v): %v, want ErrInvalidOptions", opts, err)
		}
	}
	if _, err := cache.New[product](nil, cache.Options{TTL: time.Minute}); !errors.Is(err, cache.ErrInvalidOptions) {
		t.Errorf("New(nil client): %v", err)
	}
	_, err := cache.New[product](rdb, cache.Options{TTL: -1, Jitter: 3})
	if err == nil || !strings.Contains(err.Error(), "TTL") || !strings.Contains(err.Error(), "Jitter") {
		t.Errorf("New with two bad fields: %v, want both named", err)
	}

	c := newCache(t, rdb, cache.Options{})
	ctx := context.Background()
	src := newSource(1)
	if _, err := c.Get(ctx, "", src.load); !errors.Is(err, cache.ErrEmptyKey) {
		t.Errorf("Get(\"\"): %v", err)
	}
	if _, err := c.Get(ctx, "a", nil); !errors.Is(err, cache.ErrNilLoader) {
		t.Errorf("Get(nil loader): %v", err)
	}
	if _, err := c.GetMany(ctx, []string{"a", ""}, src.loadMany); !errors.Is(err, cache.ErrEmptyKey) {
		t.Errorf("GetMany with an empty key: %v", err)
	}
	if _, err := c.GetMany(ctx, []string{"a"}, nil); !errors.Is(err, cache.ErrNilLoader) {
		t.Errorf("GetMany(nil loader): %v", err)
	}
	if err := c.Set(ctx, "", product{}); !errors.Is(err, cache.ErrEmptyKey) {
		t.Errorf("Set(\"\"): %v", err)
	}
	if err := c.Delete(ctx, "a", ""); !errors.Is(err, cache.ErrEmptyKey) {
		t.Errorf("Delete(\"\"): %v", err)
	}
	if err := c.Update(ctx, "", product{}, src.write); !errors.Is(err, cache.ErrEmptyKey) {
		t.Errorf("Update(\"\"): %v", err)
	}
	if err := c.Update(ctx, "a", product{}, nil); err == nil {
		t.Error("Update with a nil write function succeeded")
	}
	if src.loads.Load() != 0 {
		t.Error("bad input reached the loader")
	}
}
