package cache_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// BenchmarkHit compares a cache hit with what it replaces: a plain go-redis GET
// plus the same JSON decode, on the same server and client, in one run:
//
//	go test -run '^$' -bench BenchmarkHit -benchmem -count 10 ./cache | tee hit.txt
//	benchstat -col /path hit.txt
func BenchmarkHit(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := guarded(b, srv.Addr())
	ctx := context.Background()
	c := newCache(b, rdb, cache.Options{Prefix: "bench:"})
	want := product{ID: "a", Name: "a product with a name of some length", Price: 12.5}
	if err := c.Set(ctx, "a", want); err != nil {
		b.Fatal(err)
	}
	never := func(context.Context, string) (product, error) {
		b.Error("the loader ran on a hit")
		return product{}, nil
	}
	b.Run("path=get+decode", func(b *testing.B) {
		b.ReportAllocs()
		redistest.ReportCPUPerOp(b, func() {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					data, err := rdb.Get(ctx, "bench:a").Bytes()
					var p product
					if err == nil {
						err = json.Unmarshal(data, &p)
					}
					if err != nil || p != want {
						b.Errorf("%+v, %v", p, err)
						return
					}
				}
			})
		})
	})
	hit := func(c *cache.Cache[product]) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			redistest.ReportCPUPerOp(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if p, err := c.Get(ctx, "a", never); err != nil || p != want {
							b.Errorf("%+v, %v", p, err)
							return
						}
					}
				})
			})
		}
	}
	b.Run("path=cache", hit(c))
	b.Run("path=cache-without-budget", hit(newCache(b, rdb, cache.Options{Prefix: "bench:", Timeout: -1})))
}

// BenchmarkStampede measures Gets of keys that each go cold at once for all
// callers: every iteration deletes the key, and the parallel callers that miss
// it share one 1 ms load.
func BenchmarkStampede(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := guarded(b, srv.Addr())
	ctx := context.Background()
	c := newCache(b, rdb, cache.Options{Prefix: "stampede:"})
	var loads atomic.Int64
	load := func(_ context.Context, id string) (product, error) {
		loads.Add(1)
		time.Sleep(time.Millisecond)
		return product{ID: id}, nil
	}
	var gen atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A new key every 64 Gets: a cold key hit by many callers at once.
			id := strconv.FormatInt(gen.Add(1)/64, 10)
			if _, err := c.Get(ctx, id, load); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(loads.Load())/float64(b.N), "loads/op")
}

// instantGet answers GET from memory, after every other hook, so that a
// benchmark measures the layers above go-redis without the network.
type instantGet map[string]string

func (instantGet) DialHook(next redis.DialHook) redis.DialHook { return next }
func (instantGet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (m instantGet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		get, ok := cmd.(*redis.StringCmd)
		if !ok || cmd.Name() != "get" {
			return next(ctx, cmd)
		}
		if v, ok := m[cmd.Args()[1].(string)]; ok {
			get.SetVal(v)
			return nil
		}
		get.SetErr(redis.Nil)
		return redis.Nil
	}
}

// BenchmarkHitOverhead measures what the cache adds to a hit, without the
// network: the same guarded client answers GET from memory for both paths.
//
//	go test -run '^$' -bench BenchmarkHitOverhead -benchmem -count 10 ./cache | tee overhead.txt
//	benchstat -col /path overhead.txt
func BenchmarkHitOverhead(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := guarded(b, srv.Addr())
	want := product{ID: "a", Name: "a product with a name of some length", Price: 12.5}
	data, _ := json.Marshal(want)
	rdb.AddHook(instantGet{"bench:a": string(data)})
	ctx := context.Background()
	never := func(context.Context, string) (product, error) {
		b.Error("the loader ran on a hit")
		return product{}, nil
	}
	b.Run("path=get+decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := rdb.Get(ctx, "bench:a").Bytes()
			var p product
			if err == nil {
				err = json.Unmarshal(data, &p)
			}
			if err != nil || p != want {
				b.Fatalf("%+v, %v", p, err)
			}
		}
	})
	for _, path := range []struct {
		name    string
		timeout time.Duration
	}{{"cache", 0}, {"cache-without-budget", -1}} {
		c := newCache(b, rdb, cache.Options{Prefix: "bench:", Timeout: path.timeout})
		b.Run("path="+path.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p, err := c.Get(ctx, "a", never); err != nil || p != want {
					b.Fatalf("%+v, %v", p, err)
				}
			}
		})
	}
}
