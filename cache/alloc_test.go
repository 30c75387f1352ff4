package cache_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// handWritten is the code the cache replaces: GET the key and decode it.
func handWritten(ctx context.Context, rdb redis.UniversalClient, prefix, id string) (product, error) {
	var p product
	data, err := rdb.Get(ctx, prefix+id).Bytes()
	if err == nil {
		err = json.Unmarshal(data, &p)
	}
	return p, err
}

// A hit allocates no more than the hand-written GET and decode it replaces,
// over a plain and a guarded client, with the default budget on; and a near
// hit allocates nothing.
func TestHitAllocatesNoMoreThanHandWrittenCode(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := context.Background()
	want := product{ID: "a", Name: "a product with a name of some length", Price: 12.5}
	id := string([]byte("a")) // not a constant: the key is built at run time, as in a service
	for _, client := range []struct {
		name string
		rdb  redis.UniversalClient
	}{
		{"plain go-redis", plain(t, srv.Addr())},
		{"redisguard", guarded(t, srv.Addr())},
	} {
		t.Run(client.name, func(t *testing.T) {
			c := newCache(t, client.rdb, cache.Options{Prefix: "alloc:"})
			if err := c.Set(ctx, "a", want); err != nil {
				t.Fatal(err)
			}
			if err := client.rdb.Set(ctx, "raw:a", mustJSON(t, want), 0).Err(); err != nil {
				t.Fatal(err)
			}
			never := func(context.Context, string) (product, error) {
				t.Error("the loader ran on a hit")
				return product{}, nil
			}
			hand := testing.AllocsPerRun(200, func() {
				if p, err := handWritten(ctx, client.rdb, "raw:", id); err != nil || p != want {
					t.Fatal(p, err)
				}
			})
			hit := testing.AllocsPerRun(200, func() {
				if p, err := c.Get(ctx, id, never); err != nil || p != want {
					t.Fatal(p, err)
				}
			})
			t.Logf("%s: a cache hit allocates %.0f times, the hand-written GET + json.Unmarshal %.0f", client.name, hit, hand)
			if hit > hand {
				t.Fatalf("a hit allocates %.0f times, the hand-written code %.0f", hit, hand)
			}
		})
	}
	t.Run("near", func(t *testing.T) {
		c, _ := nearCache(t, srv.Addr(), cache.NearOptions{}, cache.Options{Prefix: "alloc-near:"})
		never := func(context.Context, string) (product, error) {
			t.Error("the loader ran on a hit")
			return product{}, nil
		}
		if err := c.Set(ctx, "a", want); err != nil {
			t.Fatal(err)
		}
		redistest.Eventually(t, 5*time.Second, "a near hit", func() bool {
			before := c.Stats().NearHits
			_, _ = c.Get(ctx, id, never)
			return c.Stats().NearHits > before
		})
		hit := testing.AllocsPerRun(1000, func() {
			if p, err := c.Get(ctx, id, never); err != nil || p != want {
				t.Fatal(p, err)
			}
		})
		if hit != 0 {
			t.Fatalf("a near hit allocates %.1f times, want 0", hit)
		}
	})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
