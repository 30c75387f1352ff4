package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// reconnectQuickly caps the waits between reconnect attempts at 200 ms, so
// that a client is back within moments of the fault's end.
func reconnectQuickly(o *redisguard.Options) {
	o.Reconnect = redisguard.ExponentialBackoff{MaxRetries: -1, Max: 200 * time.Millisecond}
}

// A write acknowledged while Redis is unreachable from the writer is applied
// as soon as the writer's client can reach it again: another instance reads
// the new value within a second.
func TestWriteThroughDuringAnOutage(t *testing.T) {
	for _, client := range []struct {
		name string
		new  func(t *testing.T, addr string) redis.UniversalClient
	}{
		{"redisguard", func(t *testing.T, addr string) redis.UniversalClient { return guarded(t, addr, reconnectQuickly) }},
		{"plain go-redis", func(t *testing.T, addr string) redis.UniversalClient { return plain(t, addr) }},
	} {
		for _, fault := range []string{"refuse", "blackhole"} {
			t.Run(client.name+"/"+fault, func(t *testing.T) {
				srv := redistest.StartServer(t)
				proxy := redistest.NewProxy(t, srv.Addr())
				opts := cache.Options{Prefix: "p:", TTL: time.Hour}
				writerRdb := client.new(t, proxy.Addr())
				writer := newCache(t, writerRdb, opts)
				reader := newCache(t, plain(t, srv.Addr()), opts)
				ctx := context.Background()
				src := newSource(1)
				old := src.products["a"]
				if p, err := reader.Get(ctx, "a", src.load); err != nil || p != old {
					t.Fatalf("warm: %+v, %v", p, err)
				}

				if fault == "refuse" {
					proxy.Refuse()
				} else {
					proxy.Blackhole()
				}
				updated := product{ID: "a", Name: "new price", Price: 99}
				if err := writer.Update(ctx, "a", updated, src.write); err != nil {
					t.Fatalf("Update during the outage: %v, want nil (the source holds the value)", err)
				}
				if s := writer.Stats(); s.PendingInvalidations != 1 || s.InvalidationsDeferred != 1 {
					t.Fatalf("writer stats %+v: want the invalidation kept", s)
				}
				if p, err := writer.Get(ctx, "a", src.load); err != nil || p != updated {
					t.Fatalf("the writer's Get during the outage: %+v, %v, want the new value from the loader", p, err)
				}
				if p, _ := reader.Get(ctx, "a", src.load); p != old {
					t.Fatalf("the reader sees %+v during the outage: the old value was expected in Redis", p)
				}

				proxy.Heal()
				healed := time.Now()
				if w, ok := writerRdb.(*redisguard.Client); ok {
					wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					err := w.WaitReady(wctx)
					cancel()
					if err != nil {
						t.Fatal(err)
					}
				}
				ready := time.Now()
				var seen time.Duration
				redistest.Eventually(t, 10*time.Second, "the reader reads the new value", func() bool {
					p, _ := reader.Get(ctx, "a", src.load)
					seen = time.Since(ready)
					return p == updated
				})
				t.Logf("%s, %s: client ready %v after the heal, the other instance read the new value %v after that",
					client.name, fault, ready.Sub(healed).Round(time.Millisecond), seen.Round(time.Millisecond))
				if seen > time.Second {
					t.Fatalf("the new value reached the other instance %v after the client was ready, want within 1s", seen)
				}
				redistest.Eventually(t, 5*time.Second, "the invalidation applied", func() bool {
					s := writer.Stats()
					return s.PendingInvalidations == 0 && s.InvalidationsApplied == 1
				})
			})
		}
	}
}

// A writer that dies mid-outage takes its pending invalidations with it: the
// other instances serve the old value until it expires, TTL·(1+Jitter) after
// it was stored at the latest, and never after that.
func TestWriterRestartMidOutageBound(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const ttl = time.Second
	opts := cache.Options{Prefix: "r:", TTL: ttl, Jitter: 0.2}
	reader := newCache(t, plain(t, srv.Addr()), opts)
	ctx := context.Background()
	src := newSource(1)
	old := src.products["a"]
	if _, err := reader.Get(ctx, "a", src.load); err != nil {
		t.Fatal(err)
	}
	stored := time.Now()

	writer, err := cache.New[product](plain(t, proxy.Addr()), opts)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Refuse()
	updated := product{ID: "a", Name: "new", Price: 2}
	if err := writer.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatal(err)
	}
	writer.Close() // the process ends before Redis is back: its pending invalidation is lost
	proxy.Heal()

	bound := stored.Add(time.Duration(float64(ttl) * 1.2))
	lastOld := lastServed(t, reader, src, "a", old, bound.Add(500*time.Millisecond))
	t.Logf("the old value was served until %v after it was stored; the bound is TTL·(1+Jitter) = %v",
		lastOld.Sub(stored).Round(time.Millisecond), bound.Sub(stored))
	if lastOld.After(bound) {
		t.Fatalf("the old value was served %v after the bound", lastOld.Sub(bound))
	}
	if p, _ := reader.Get(ctx, "a", src.load); p != updated {
		t.Fatalf("after the bound the reader gets %+v, want the new value", p)
	}
}

// Past MaxPendingInvalidations an invalidation is dropped, and the Cache
// answers every key from the loader until what it could have left stale has
// expired.
func TestPendingInvalidationsOverflow(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const ttl = 500 * time.Millisecond
	var results resultLog
	c := newCache(t, plain(t, proxy.Addr()), cache.Options{Prefix: "o:", TTL: ttl, Jitter: -1, MaxPendingInvalidations: 2, Observer: results.record})
	ctx := context.Background()
	src := newSource(4)
	getAll(t, c, src, 1)
	proxy.Refuse()
	for _, id := range []string{"a", "b", "c"} {
		if err := c.Update(ctx, id, product{ID: id, Name: "updated"}, src.write); err != nil {
			t.Fatal(err)
		}
	}
	s := c.Stats()
	if s.PendingInvalidations != 2 || s.InvalidationsDropped != 1 || !s.Bypassing {
		t.Fatalf("stats %+v: want 2 kept, 1 dropped, Redis bypassed", s)
	}
	proxy.Heal()
	// Redis answers again, but "c"'s old value may still be there: until it
	// has expired, every key comes from the loader.
	fallbacks := c.Stats().Fallbacks
	if p, err := c.Get(ctx, "d", src.load); err != nil || p != src.products["d"] {
		t.Fatalf("Get while bypassing: %+v, %v", p, err)
	}
	if c.Stats().Fallbacks != fallbacks+1 {
		t.Fatal("a Get while bypassing was not answered by the loader")
	}
	redistest.Eventually(t, 5*time.Second, "the bypass ends and the kept invalidations are applied", func() bool {
		s := c.Stats()
		return !s.Bypassing && s.PendingInvalidations == 0
	})
	if p, err := c.Get(ctx, "c", src.load); err != nil || p.Name != "updated" {
		t.Fatalf("Get of the key whose invalidation was dropped: %+v, %v", p, err)
	}
	if n := results.count(cache.ResultInvalidationDropped); n != 1 {
		t.Fatalf("the Observer saw %d dropped invalidations, want 1", n)
	}
}
