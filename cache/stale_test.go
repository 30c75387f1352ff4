package cache_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// With StaleIfError, a value past its TTL answers when the loader fails, and
// only then, and never past TTL + StaleIfError; off by default.
func TestStaleIfError(t *testing.T) {
	srv := redistest.StartServer(t)
	const (
		ttl   = 200 * time.Millisecond
		stale = 600 * time.Millisecond
	)
	ctx := context.Background()
	down := errors.New("the database is down")
	failing := func(context.Context, string) (product, error) { return product{}, down }
	first := product{ID: "a", Name: "first"}
	fresh := product{ID: "a", Name: "fresh"}
	// fill stores first in a new cache of the given options and waits past
	// its TTL.
	fill := func(t *testing.T, opts cache.Options) *cache.Cache[product] {
		t.Helper()
		opts.TTL, opts.Jitter, opts.Timeout = ttl, -1, time.Second // a generous budget on a loaded machine
		c := newCache(t, plain(t, srv.Addr()), opts)
		if err := c.Set(ctx, "a", first); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl + 50*time.Millisecond)
		return c
	}

	t.Run("loader fails: the stale value", func(t *testing.T) {
		var results resultLog
		c := fill(t, cache.Options{Prefix: "stale1:", StaleIfError: stale, Observer: results.record})
		p, err := c.Get(ctx, "a", failing)
		if err != nil || p != first {
			t.Fatalf("Get past the TTL with the loader failing: %+v, %v; want the stale value and no error", p, err)
		}
		if s := c.Stats(); s.StaleServed != 1 || results.count(cache.ResultStale) != 1 {
			t.Fatalf("stats %+v: want one stale answer counted", s)
		}
		if got := cache.ResultStale.String(); got != "stale" {
			t.Fatalf("ResultStale is %q, want the metrics label stale", got)
		}
	})

	t.Run("loader succeeds: the new value", func(t *testing.T) {
		c := fill(t, cache.Options{Prefix: "stale2:", StaleIfError: stale})
		p, err := c.Get(ctx, "a", func(context.Context, string) (product, error) { return fresh, nil })
		if err != nil || p != fresh {
			t.Fatalf("Get past the TTL with the loader answering: %+v, %v; want the new value", p, err)
		}
		if p, err := c.Get(ctx, "a", failing); err != nil || p != fresh {
			t.Fatalf("the next Get: %+v, %v; want the new value from Redis", p, err)
		}
		if s := c.Stats(); s.StaleServed != 0 {
			t.Fatalf("stats %+v: no stale answer expected", s)
		}
	})

	t.Run("loader says not found: not found", func(t *testing.T) {
		c := fill(t, cache.Options{Prefix: "stale3:", StaleIfError: stale})
		_, err := c.Get(ctx, "a", func(context.Context, string) (product, error) { return product{}, cache.ErrNotFound })
		if !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get past the TTL with the record gone: %v, want ErrNotFound", err)
		}
	})

	t.Run("load timeout: the stale value", func(t *testing.T) {
		c := fill(t, cache.Options{Prefix: "stale4:", StaleIfError: stale, LoadTimeout: 100 * time.Millisecond})
		slow := func(ctx context.Context, _ string) (product, error) {
			<-ctx.Done()
			return product{}, ctx.Err()
		}
		if p, err := c.Get(ctx, "a", slow); err != nil || p != first {
			t.Fatalf("Get past the TTL with the loader timing out: %+v, %v; want the stale value", p, err)
		}
	})

	t.Run("past TTL + StaleIfError: the loader's error", func(t *testing.T) {
		c := fill(t, cache.Options{Prefix: "stale5:", StaleIfError: stale})
		time.Sleep(stale)
		if p, err := c.Get(ctx, "a", failing); !errors.Is(err, down) {
			t.Fatalf("Get past TTL + StaleIfError: %+v, %v; want the loader's error", p, err)
		}
	})

	t.Run("off by default", func(t *testing.T) {
		c := fill(t, cache.Options{Prefix: "stale6:"})
		if p, err := c.Get(ctx, "a", failing); !errors.Is(err, down) {
			t.Fatalf("Get past the TTL without StaleIfError: %+v, %v; want the loader's error", p, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, d := range []time.Duration{-time.Second, time.Microsecond} {
			_, err := cache.New[product](plain(t, srv.Addr()), cache.Options{TTL: time.Minute, StaleIfError: d})
			if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "StaleIfError") {
				t.Fatalf("StaleIfError %v: %v, want an error naming the field", d, err)
			}
		}
	})
}
