package cache_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// BenchmarkMiss measures a Get of a cold key over a guarded client on
// loopback, with an instant loader: the read, the lease step, the load and
// the store under the lease, one key per iteration.
//
//	go test -run '^$' -bench 'BenchmarkMiss$' -benchmem -count 6 ./cache
func BenchmarkMiss(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := guarded(b, srv.Addr())
	c := newCache(b, rdb, cache.Options{Prefix: "miss:"})
	ctx := context.Background()
	load := func(_ context.Context, id string) (product, error) {
		return product{ID: id, Name: "a product with a name of some length", Price: 12.5}, nil
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		if _, err := c.Get(ctx, strconv.Itoa(n), load); err != nil {
			b.Fatal(err)
		}
	}
}
