package cache_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// fallbacks records what OnFallback saw.
type fallbacks struct {
	mu   sync.Mutex
	errs []error
}

func (f *fallbacks) record(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *fallbacks) seen() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// getAll Gets every product n times and fails the test on any error or wrong
// value.
func getAll(t *testing.T, c *cache.Cache[product], src *source, n int) {
	t.Helper()
	for range n {
		for id, want := range src.products {
			p, err := c.Get(context.Background(), id, src.load)
			if err != nil || p != want {
				t.Fatalf("Get(%s) while Redis fails: %+v, %v", id, p, err)
			}
		}
	}
}

func TestRedisFailingFallsBackToTheLoader(t *testing.T) {
	for _, fault := range []struct {
		name    string
		inject  func(t *testing.T, srv *redistest.Server, rdb *redisguard.Client)
		wantErr func(error) bool
	}{
		{"killed", func(t *testing.T, srv *redistest.Server, _ *redisguard.Client) { srv.Kill() }, nil},
		{"paused", func(t *testing.T, srv *redistest.Server, _ *redisguard.Client) {
			srv.Stop()
			t.Cleanup(srv.Continue)
		}, nil},
		{"breaker open", func(t *testing.T, srv *redistest.Server, rdb *redisguard.Client) {
			srv.RunEndlessScript(t) // BUSY replies: failures
		}, func(err error) bool { return errors.Is(err, breaker.ErrOpen) }},
		{"client not ready", func(t *testing.T, srv *redistest.Server, rdb *redisguard.Client) {
			srv.Kill()
			_ = rdb.Ping(context.Background()).Err()
			if rdb.State() != redisguard.StateReconnecting {
				t.Fatalf("client %v", rdb.State())
			}
		}, func(err error) bool { return errors.Is(err, redisguard.ErrNotReady) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			// The breaker stays open for the rest of the test once it opened:
			// no probe reaches the server while the Gets are counted.
			rdb := guarded(t, srv.Addr(), func(o *redisguard.Options) {
				o.Breaker = breaker.Settings{OpenTimeout: time.Minute, MinOpenTimeout: time.Minute}
			})
			var fb fallbacks
			c := newCache(t, rdb, cache.Options{Prefix: "fb:", OnFallback: fb.record})
			src := newSource(5)
			getAll(t, c, src, 1) // warm: every product cached
			loads := src.loads.Load()

			fault.inject(t, srv, rdb)
			start := time.Now()
			getAll(t, c, src, 4)
			took := time.Since(start)

			s := c.Stats()
			t.Logf("%s: 20 Gets in %v, every one answered, %d by the loader (%d from the cache before it noticed)",
				fault.name, took.Round(time.Millisecond), s.Fallbacks, 20-s.Fallbacks)
			if s.Fallbacks < 15 || s.Fallbacks > 20 {
				t.Fatalf("stats %+v: want the 20 Gets during the fault answered by the loader", s)
			}
			// A Get may share the load of one just before it whose value is
			// still being stored: never more loads than fallbacks.
			if got := src.loads.Load() - loads; got > int64(s.Fallbacks) || got < int64(s.Fallbacks)/2 {
				t.Fatalf("%d loads for %d fallbacks", got, s.Fallbacks)
			}
			seen := fb.seen()
			if len(seen) != int(s.Fallbacks) {
				t.Fatalf("OnFallback saw %d errors for %d fallbacks", len(seen), s.Fallbacks)
			}
			if fault.wantErr != nil && !fault.wantErr(seen[len(seen)-1]) {
				t.Fatalf("OnFallback saw %v", seen[len(seen)-1])
			}
		})
	}
}

// A paused Redis delays a Get by two budgets at most: the read, and, for a
// read that waited for a new connection's handshake, the lease step.
func TestPausedRedisDelaysAGetByTheBudgetAtMost(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr())
	const (
		budget     = 50 * time.Millisecond
		loaderTime = 5 * time.Millisecond
		calls      = 200
	)
	c := newCache(t, rdb, cache.Options{Prefix: "budget:", Timeout: budget})
	src := newSource(10)
	src.delay = loaderTime
	getAll(t, c, src, 1)

	srv.Stop()
	defer srv.Continue()
	latencies := make([]time.Duration, 0, calls)
	for i := range calls {
		id := string(rune('a' + i%10))
		start := time.Now()
		p, err := c.Get(context.Background(), id, src.load)
		latencies = append(latencies, time.Since(start))
		if err != nil || p != src.products[id] {
			t.Fatalf("Get(%s): %+v, %v", id, p, err)
		}
	}
	slices.Sort(latencies)
	p50, p99, worst := latencies[calls/2], latencies[calls*99/100], latencies[calls-1]
	t.Logf("Redis paused, budget %v, loader %v: %d Gets, p50 %v, p99 %v, max %v; breaker %v",
		budget, loaderTime, calls, p50.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond), breakerState(rdb))
	// go-redis itself sometimes overruns a context deadline against a paused
	// server (a new connection's handshake waits for ReadTimeout, 200 ms here,
	// even with a plain client): the slack covers that, not the cache.
	if limit := 2*budget + loaderTime + 250*time.Millisecond; worst > limit {
		t.Fatalf("a Get took %v with Redis paused: more than two budgets and the loader's time (%v, with slack)", worst, limit)
	}
}

func TestGetMany(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "m:", NegativeTTL: time.Minute})
	src := newSource(4) // a, b, c, d
	ctx := context.Background()
	if _, err := c.Get(ctx, "a", src.load); err != nil { // a cached
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "zz", src.load); !errors.Is(err, cache.ErrNotFound) { // zz: a cached not-found
		t.Fatal(err)
	}
	src.loads.Store(0)

	got, err := c.GetMany(ctx, []string{"a", "b", "c", "zz", "yy", "b"}, src.loadMany)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]product{"a": src.products["a"], "b": src.products["b"], "c": src.products["c"]}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] || got["c"] != want["c"] {
		t.Fatalf("GetMany: %+v, want %+v", got, want)
	}
	if n := src.loads.Load(); n != 1 {
		t.Fatalf("%d batch loads, want 1", n)
	}
	asked := append([]string(nil), src.keys[0]...)
	sort.Strings(asked)
	if !slices.Equal(asked, []string{"b", "c", "yy"}) {
		t.Fatalf("the batch loader got %v, want exactly the missing keys [b c yy]", asked)
	}
	for _, k := range []string{"m:b", "m:c", "m:yy"} {
		if n, _ := direct.Exists(ctx, k).Result(); n != 1 {
			t.Fatalf("%s was not written back", k)
		}
	}
	// Everything is cached now: no load at all.
	if _, err := c.GetMany(ctx, []string{"a", "b", "c", "yy"}, src.loadMany); err != nil || src.loads.Load() != 1 {
		t.Fatalf("second GetMany: %v, %d loads", err, src.loads.Load())
	}
	// Redis down: the loader gets every key.
	srv.Kill()
	got, err = c.GetMany(ctx, []string{"a", "d"}, src.loadMany)
	if err != nil || len(got) != 2 || got["d"] != src.products["d"] {
		t.Fatalf("GetMany with Redis down: %+v, %v", got, err)
	}
	if last := src.keys[len(src.keys)-1]; len(last) != 2 {
		t.Fatalf("the batch loader got %v with Redis down, want both keys", last)
	}
}

func TestUpdateIsWriteThrough(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "u:"})
	src := newSource(1)
	ctx := context.Background()
	if _, err := c.Get(ctx, "a", src.load); err != nil {
		t.Fatal(err)
	}
	updated := product{ID: "a", Name: "renamed", Price: 9}
	if err := c.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatal(err)
	}
	if src.products["a"] != updated {
		t.Fatal("the source was not written")
	}
	loads := src.loads.Load()
	if p, err := c.Get(ctx, "a", src.load); err != nil || p != updated || src.loads.Load() != loads {
		t.Fatalf("Get after Update: %+v, %v (loads %d → %d): want the new value from the cache", p, err, loads, src.loads.Load())
	}
	// A failing source leaves the cache alone.
	boom := errors.New("constraint violated")
	if err := c.Update(ctx, "a", product{ID: "a", Name: "bad"}, func(context.Context, product) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update with a failing source: %v", err)
	}
	if p, _ := c.Get(ctx, "a", src.load); p != updated {
		t.Fatalf("the cache changed although the source write failed: %+v", p)
	}
	if err := c.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, _ = c.Get(ctx, "a", src.load); src.loads.Load() != loads+1 {
		t.Fatal("Get after Delete did not load")
	}
}

// A replica holds the old value and refuses writes (READONLY): the cache can
// neither overwrite nor delete it, and must still never serve it.
func TestUpdateNeverServesAValueItCouldNotInvalidate(t *testing.T) {
	master := redistest.StartServer(t, "repl-diskless-sync-delay 0")
	replica := redistest.StartServer(t, "replicaof 127.0.0.1 "+itoa(master.Port()))
	ctx := context.Background()
	old := product{ID: "a", Name: "old", Price: 1}
	writer := newCache(t, master.Client(t), cache.Options{Prefix: "s:"})
	if err := writer.Set(ctx, "a", old); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, "replication", func() bool { return replica.Client(t).Exists(ctx, "s:a").Val() == 1 })

	c := newCache(t, guarded(t, replica.Addr()), cache.Options{Prefix: "s:"})
	src := newSource(0)
	src.products["a"] = old
	if p, _ := c.Get(ctx, "a", src.load); p != old {
		t.Fatalf("before the update: %+v", p)
	}
	updated := product{ID: "a", Name: "new", Price: 2}
	if err := c.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatalf("Update: %v, want nil (the source holds the value)", err)
	}
	if s := c.Stats(); s.PendingInvalidations != 1 {
		t.Fatalf("stats %+v, want one stale key", s)
	}
	for range 3 {
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != updated {
			t.Fatalf("Get after a failed invalidation: %+v, %v, want the new value", p, err)
		}
	}
	got, err := c.GetMany(ctx, []string{"a"}, src.loadMany)
	if err != nil || got["a"] != updated {
		t.Fatalf("GetMany after a failed invalidation: %+v, %v", got, err)
	}
}
