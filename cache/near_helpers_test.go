package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// The set-up and the measures the near tier's tests share, on every
// deployment.

// guardedReady returns a redisguard client made with opts, once it is ready,
// closed when the test ends.
func guardedReady(t testing.TB, opts redisguard.Options) *redisguard.Client {
	t.Helper()
	rdb, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return rdb
}

// nearReader returns a Cache over rdb with a near tier of its own, once the
// tier serves.
func nearReader(t testing.TB, rdb redis.UniversalClient, nopts cache.NearOptions, opts cache.Options) (*cache.Cache[product], *cache.Near) {
	t.Helper()
	near := newNear(t, nopts)
	opts.Near = near
	c := newCache(t, rdb, opts)
	waitServing(t, near)
	return c, near
}

// nearCache returns a Cache with a near tier over its own client to addr.
func nearCache(t testing.TB, addr string, nopts cache.NearOptions, opts cache.Options) (*cache.Cache[product], *cache.Near) {
	t.Helper()
	return nearReader(t, plain(t, addr), nopts, opts)
}

// waitServing waits for near's invalidation connections to be up.
func waitServing(t testing.TB, near *cache.Near) {
	t.Helper()
	redistest.Eventually(t, 10*time.Second, "the near tier serving", func() bool { return near.Stats().Serving })
}

// nearHit reads key until it is a near hit.
func nearHit(t testing.TB, c *cache.Cache[product], key string, load cache.Loader[product]) {
	t.Helper()
	ctx := context.Background()
	redistest.Eventually(t, 5*time.Second, "a near hit of "+key, func() bool {
		before := c.Stats().NearHits
		_, _ = c.Get(ctx, key, load)
		return c.Stats().NearHits > before
	})
}

// measureWriteSeen has writer set each of keys (default "a") writes times,
// each once reader holds the previous value in its near tier, measures how
// soon reader serves each new value, and fails the test unless p99 is within
// 50 ms.
func measureWriteSeen(t *testing.T, what string, reader, writer *cache.Cache[product], writes int, keys ...string) {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{"a"}
	}
	ctx := context.Background()
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	var delays []time.Duration
	for _, key := range keys {
		if err := writer.Set(ctx, key, product{ID: key, Price: 0}); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= writes; i++ {
			nearHit(t, reader, key, never)
			want := product{ID: key, Price: float64(i)}
			if err := writer.Set(ctx, key, want); err != nil {
				t.Fatal(err)
			}
			written := time.Now()
			for {
				p, err := reader.Get(ctx, key, never)
				if err != nil {
					t.Fatal(err)
				}
				if p == want {
					delays = append(delays, time.Since(written))
					break
				}
				if time.Since(written) > 5*time.Second {
					t.Fatalf("%s: write %d of %s not seen after 5s", what, i, key)
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	slices.Sort(delays)
	n := len(delays)
	p50, p99 := delays[n/2], delays[n*99/100]
	t.Logf("%s: another instance's SET seen by a near-cache reader after p50 %v, p99 %v, max %v (%d writes)",
		what, p50.Round(time.Microsecond), p99.Round(time.Microsecond), delays[n-1].Round(time.Microsecond), n)
	if p99 > 50*time.Millisecond {
		t.Fatalf("%s: p99 %v: want another instance's write seen within 50 ms", what, p99)
	}
}

// seenAfterFailover has writer set key to updated on the new master (once it
// takes writes), reads key through reader for 3 s, fails the test if old is
// served after updated was, and returns how soon updated was served.
func seenAfterFailover(t *testing.T, reader, writer *cache.Cache[product], key string, old, updated product) time.Duration {
	t.Helper()
	ctx := context.Background()
	redistest.Eventually(t, 10*time.Second, "the write on the new master", func() bool {
		return writer.Set(ctx, key, updated) == nil
	})
	written := time.Now()
	var seen time.Duration
	load := func(context.Context, string) (product, error) { return updated, nil }
	for time.Since(written) < 3*time.Second {
		p, err := reader.Get(ctx, key, load)
		if err == nil && p == updated && seen == 0 {
			seen = time.Since(written)
		}
		if err == nil && p == old && seen != 0 {
			t.Fatalf("the value from before the failover served again %v after the write", time.Since(written))
		}
		time.Sleep(time.Millisecond)
	}
	if seen == 0 || seen > time.Second {
		t.Fatalf("the write on the new master seen after %v: want within 1 s", seen)
	}
	return seen
}

// writeOnNodeResult is the latest, after a write's acknowledgement, that a
// read served the value before: from memory (before the write's
// invalidation was applied), from Redis through the near-tier reader, from
// Redis through a plain reader; and how long the invalidation took.
type writeOnNodeResult struct {
	fromMemory, fromRedis, plain, delivery time.Duration
}

func (r writeOnNodeResult) max(o writeOnNodeResult) writeOnNodeResult {
	return writeOnNodeResult{max(r.fromMemory, o.fromMemory), max(r.fromRedis, o.fromRedis), max(r.plain, o.plain), max(r.delivery, o.delivery)}
}

func (r writeOnNodeResult) String() string {
	return fmt.Sprintf("each invalidation applied within %v of the acknowledgement; the latest read served an overwritten value after it: from memory %v (before the invalidation), from Redis %v (near reader) and %v (plain reader)",
		r.delivery.Round(time.Microsecond), r.fromMemory.Round(time.Microsecond), r.fromRedis.Round(time.Microsecond), r.plain.Round(time.Microsecond))
}

// writeOnNode sets key to a product of price version with a SET on node (a
// client of one server), as another instance would, and reports false if
// the server refused it. Then it reads key through reader (with near) and
// plain until each serves it, and fails the test if a read that began after
// the write's invalidation was applied served the value before from memory,
// or if the invalidation is not applied within 2 s of the acknowledgement.
func writeOnNode(t *testing.T, near *cache.Near, node *redis.Client, reader, plain *cache.Cache[product], prefix, key string, version int) (writeOnNodeResult, bool) {
	t.Helper()
	ctx := context.Background()
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	value, err := json.Marshal(product{ID: key, Price: float64(version)})
	if err != nil {
		t.Fatal(err)
	}
	messages := near.Stats().Messages
	if err := node.Set(ctx, prefix+key, value, 0).Err(); err != nil {
		return writeOnNodeResult{}, false
	}
	acked := time.Now()
	var r writeOnNodeResult
	for _, c := range []*cache.Cache[product]{reader, plain} {
		for {
			applied := near.Stats().Messages > messages
			began := time.Now()
			hits := c.Stats().NearHits
			p, err := c.Get(ctx, key, never)
			if err != nil {
				if time.Since(acked) > 10*time.Second {
					t.Fatalf("write %d: no read for 10 s: %v", version, err)
				}
				continue
			}
			if p.Price >= float64(version) {
				break
			}
			late := began.Sub(acked)
			switch {
			case c == plain:
				r.plain = max(r.plain, late)
			case c.Stats().NearHits == hits:
				r.fromRedis = max(r.fromRedis, late)
			case applied:
				t.Fatalf("write %d: a read begun %v after the acknowledgement, the invalidation applied, served the value before from memory; %+v",
					version, late.Round(time.Microsecond), near.Stats())
			default:
				r.fromMemory = max(r.fromMemory, late)
			}
		}
	}
	for near.Stats().Messages == messages {
		if time.Since(acked) > 2*time.Second {
			t.Fatalf("write %d: its invalidation never reached the tier; %+v", version, near.Stats())
		}
		time.Sleep(100 * time.Microsecond)
	}
	r.delivery = time.Since(acked)
	return r, true
}
