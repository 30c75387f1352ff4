package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// BenchmarkHit compares a cache hit with what it replaces: a plain go-redis GET
// plus the same JSON decode, on the same server and client, in one run; and
// the near tier's hit with go-redis's own client-side cache (RESP3) hit plus
// decode:
//
//	go test -run '^$' -bench 'BenchmarkHit$' -benchmem -count 10 ./cache | tee hit.txt
//	benchstat -col /path hit.txt
func BenchmarkHit(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := guarded(b, srv.Addr())
	ctx := context.Background()
	c := newCache(b, rdb, cache.Options{Prefix: "bench:"})
	near := newNear(b, cache.NearOptions{})
	nc := newCache(b, plain(b, srv.Addr()), cache.Options{Prefix: "bench:", Near: near})
	waitServing(b, near)
	cscRdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 3, ClientSideCacheConfig: &redis.ClientSideCacheConfig{MaxEntries: 10_000}})
	b.Cleanup(func() { cscRdb.Close() })
	want := product{ID: "a", Name: "a product with a name of some length", Price: 12.5}
	if err := c.Set(ctx, "a", want); err != nil {
		b.Fatal(err)
	}
	if err := rdb.Set(ctx, "raw:a", mustJSON(b, want), 0).Err(); err != nil {
		b.Fatal(err)
	}
	never := func(context.Context, string) (product, error) {
		b.Error("the loader ran on a hit")
		return product{}, nil
	}
	for range 3 { // fill the near tier
		_, _ = nc.Get(ctx, "a", never)
	}
	id := string([]byte("a"))
	parallel := func(get func() (product, error)) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			redistest.ReportCPUPerOp(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if p, err := get(); err != nil || p != want {
							b.Errorf("%+v, %v", p, err)
							return
						}
					}
				})
			})
		}
	}
	b.Run("path=get+decode", parallel(func() (product, error) { return handWritten(ctx, rdb, "raw:", id) }))
	b.Run("path=cache", parallel(func() (product, error) { return c.Get(ctx, id, never) }))
	b.Run("path=csc-get+decode", parallel(func() (product, error) { return handWritten(ctx, cscRdb, "raw:", id) }))
	b.Run("path=near", parallel(func() (product, error) { return nc.Get(ctx, id, never) }))
}

// BenchmarkNearHit measures a hit of the near tier, a value decoded already,
// on a standalone server and a 3-master cluster, for one hot key and for 10k
// keys, from 1, 64 and 256 goroutines; cpu-ns/op is the CPU per hit, which
// -cpu 1,2,2,1 compares across core counts, interleaved, beside the same
// measure of arithmetic that shares nothing (control=arithmetic):
//
//	go test -run '^$' -bench 'BenchmarkNearHit' -benchmem -benchtime 300000x -cpu 1,2,2,1 ./cache
func BenchmarkNearHit(b *testing.B) {
	ctx := context.Background()
	never := func(context.Context, string) (product, error) {
		return product{}, errors.New("the loader ran on a hit")
	}
	deployments := []struct {
		name string
		rdb  func(b *testing.B) redis.UniversalClient
	}{
		{"standalone", func(b *testing.B) redis.UniversalClient { return plain(b, redistest.StartServer(b).Addr()) }},
		{"cluster", func(b *testing.B) redis.UniversalClient {
			return redistest.StartCluster(b, redistest.ClusterConfig{Masters: 3}).Client(b)
		}},
	}
	// The same measure of code that shares no memory at all, so that what
	// the machine does to the CPU per operation when both cores run (other
	// processes, the host's scheduling) is seen beside the hits.
	b.Run("control=arithmetic", func(b *testing.B) {
		redistest.ReportCPUPerOp(b, func() {
			b.RunParallel(func(pb *testing.PB) {
				x := uint64(1)
				for pb.Next() {
					for range 20 {
						x = x*0x9E3779B97F4A7C15 + 7
					}
				}
				if x == 0 {
					b.Error("the arithmetic reached zero")
				}
			})
		})
	})
	for _, d := range deployments {
		b.Run("deployment="+d.name, func(b *testing.B) {
			// A MaxStaleness longer than the run: every Get is a hit of the
			// decoded value, none a periodic re-read from Redis.
			near := newNear(b, cache.NearOptions{MaxStaleness: time.Hour, MaxEntries: 20_000})
			c := newCache(b, d.rdb(b), cache.Options{Prefix: "near:", TTL: time.Hour, Near: near})
			waitServing(b, near)
			ids := make([]string, 10_000)
			for i := range ids {
				ids[i] = strconv.Itoa(i)
				if err := c.Set(ctx, ids[i], product{ID: ids[i], Price: 12.5}); err != nil {
					b.Fatal(err)
				}
			}
			redistest.Eventually(b, 30*time.Second, "every key in the near tier", func() bool {
				before := c.Stats().NearHits
				for _, id := range ids {
					_, _ = c.Get(ctx, id, never)
				}
				return c.Stats().NearHits-before == uint64(len(ids))
			})
			for _, keys := range []int{1, len(ids)} {
				for _, g := range []int{1, 64, 256} {
					b.Run(fmt.Sprintf("keys=%d/goroutines=%d", keys, g), func(b *testing.B) {
						b.ReportAllocs()
						b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
						var next atomic.Uint64
						redistest.ReportCPUPerOp(b, func() {
							b.RunParallel(func(pb *testing.PB) {
								i := int(next.Add(7919))
								for pb.Next() {
									i++
									id := ids[i%keys]
									if p, err := c.Get(ctx, id, never); err != nil || p.ID != id {
										b.Error(p, err)
										return
									}
								}
							})
						})
					})
				}
			}
			if s := c.Stats(); s.Misses+s.Hits > 0 && s.NearHits < 100*(s.Misses+s.Hits) {
				b.Fatalf("stats %+v: the hits were not near hits", s)
			}
		})
	}
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
	id := string([]byte("a"))
	b.Run("path=get+decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p, err := handWritten(ctx, rdb, "bench:", id); err != nil || p != want {
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
				if p, err := c.Get(ctx, id, never); err != nil || p != want {
					b.Fatalf("%+v, %v", p, err)
				}
			}
		})
	}
}
