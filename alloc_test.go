package redisguard

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// The guard adds no allocation to a command: a GET through the guarded client,
// its breaker on and closed, allocates as often as the same GET through plain
// go-redis, whether the server answers it or go-redis's client-side cache does.
// Not parallel: the count is the whole process's allocations.
func TestGuardAddsNoAllocationToGet(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := context.Background()
	if err := srv.Client(t).Set(ctx, benchKey, "value", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		plain   *redis.Options
		guarded *redis.UniversalOptions
	}{
		{
			name:    "answered by the server",
			plain:   &redis.Options{Addr: srv.Addr()},
			guarded: &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		},
		{
			name:    "answered by the client-side cache",
			plain:   &redis.Options{Addr: srv.Addr(), Protocol: 3, ClientSideCacheConfig: benchCSCConfig()},
			guarded: benchCSCOptions(srv.Addr()),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := redis.NewClient(tc.plain)
			t.Cleanup(func() { plain.Close() })
			guarded := newTestClient(t, Options{Redis: tc.guarded})
			if b, ok := guarded.Breaker(); !ok || b.State != breaker.StateClosed {
				t.Fatalf("the guarded client's breaker: %+v, %v; want one, closed", b, ok)
			}
			allocs := func(rdb redis.UniversalClient) float64 {
				get := func() {
					if v, err := rdb.Get(ctx, benchKey).Result(); err != nil || v != "value" {
						t.Fatalf("GET: %q, %v", v, err)
					}
				}
				get() // dials the connection, fills the client-side cache
				return mallocsPerRun(2000, get)
			}
			plainAllocs, guardedAllocs := allocs(plain), allocs(guarded)
			t.Logf("a GET allocates %.2f times through plain go-redis, %.2f through the guarded client", plainAllocs, guardedAllocs)
			if guardedAllocs >= plainAllocs+0.5 {
				t.Errorf("the guard adds %.2f allocations to a GET", guardedAllocs-plainAllocs)
			}
		})
	}
}

// The guarded client serves client-side cache hits from memory: the server
// executes no GET for them. When another client changes the key, the server's
// invalidation reaches the guarded client's connections, and it reads the new
// value.
func TestGuardedClientServesClientSideCacheHitsFromMemory(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Set(ctx, benchKey, "old", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Options{Redis: benchCSCOptions(srv.Addr())})
	get := func() string {
		v, err := c.Get(ctx, benchKey).Result()
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		return v
	}
	if v := get(); v != "old" { // the miss that fills the cache
		t.Fatalf("GET: %q, want %q", v, "old")
	}
	before := serverGETCalls(t, admin)
	for range 1000 {
		if v := get(); v != "old" {
			t.Fatalf("GET: %q, want %q", v, "old")
		}
	}
	if n := serverGETCalls(t, admin) - before; n != 0 {
		t.Fatalf("the server executed %d of 1000 GETs that the client-side cache should have answered", n)
	}

	if err := admin.Set(ctx, benchKey, "new", 0).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, "the guarded client reads the new value", func() bool {
		return get() == "new"
	})
	before = serverGETCalls(t, admin)
	for range 1000 {
		if v := get(); v != "new" {
			t.Fatalf("GET: %q, want %q", v, "new")
		}
	}
	if n := serverGETCalls(t, admin) - before; n != 0 {
		t.Fatalf("after the invalidation, the server executed %d of 1000 GETs that the client-side cache should have answered", n)
	}
}

// mallocsPerRun is testing.AllocsPerRun without its rounding down: the mean
// number of allocations of a call of f over runs calls. Under the race
// detector a sync.Pool drops a random quarter of what is put into it, so
// go-redis's own allocations per command vary by a fraction between runs, and
// rounding would turn that into a whole allocation more or less.
func mallocsPerRun(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs)
}
