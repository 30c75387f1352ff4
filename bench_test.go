package redisguard

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// The benchmarks compare the guarded client with plain go-redis on the same
// redis-server. Each sub-benchmark builds its client afresh, so that one
// process can run a single client (-test.bench '.../client=guarded$') and
// scripts/abba can interleave the clients in separate runs:
//
//	go run ./scripts/abba -bench 'BenchmarkGet/.*/client={}$' -a plain -b guarded
//
// A run of "goroutines=N" sends from N goroutines (RunParallel with
// SetParallelism(N/GOMAXPROCS)) or, for N = 1, from the benchmark's own.

const benchKey = "bench:k"

// BenchmarkGet: GETs over loopback, answered by the server.
func BenchmarkGet(b *testing.B) {
	srv := redistest.StartServer(b)
	setBenchKey(b, srv)
	for _, g := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			b.Run("client=plain", func(b *testing.B) {
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
				b.Cleanup(func() { rdb.Close() })
				benchmarkGets(b, rdb, g)
			})
			b.Run("client=guarded", func(b *testing.B) {
				benchmarkGets(b, newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}}), g)
			})
			b.Run("client=guarded-nobreaker", func(b *testing.B) {
				c := newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}, DisableBreaker: true})
				benchmarkGets(b, c, g)
			})
		})
	}
}

// BenchmarkCSCHit: GETs answered from memory by go-redis's client-side cache
// (RESP3 CLIENT TRACKING), where the guard's cost is no longer hidden by a
// round trip. "client=plain-hooked" is plain go-redis with a hook that only
// calls the next one. "server-gets/op" counts the GETs the server executed
// (INFO commandstats) per GET sent: 0 when every hit came from memory.
func BenchmarkCSCHit(b *testing.B) {
	srv := redistest.StartServer(b)
	setBenchKey(b, srv)
	admin := srv.Client(b)
	for _, g := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			b.Run("client=plain", func(b *testing.B) {
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
				b.Cleanup(func() { rdb.Close() })
				benchmarkCSCHits(b, admin, rdb, g)
			})
			b.Run("client=plain-hooked", func(b *testing.B) {
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
				rdb.AddHook(passThroughHook{})
				b.Cleanup(func() { rdb.Close() })
				benchmarkCSCHits(b, admin, rdb, g)
			})
			b.Run("client=guarded", func(b *testing.B) {
				c := newTestClient(b, Options{Redis: benchCSCOptions(srv.Addr())})
				benchmarkCSCHits(b, admin, c, g)
			})
			b.Run("client=guarded-nobreaker", func(b *testing.B) {
				c := newTestClient(b, Options{Redis: benchCSCOptions(srv.Addr()), DisableBreaker: true})
				benchmarkCSCHits(b, admin, c, g)
			})
		})
	}
}

// passThroughHook is a go-redis hook that does nothing: what any hook costs,
// the floor of a guard built on go-redis's hooks.
type passThroughHook struct{}

func (passThroughHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (passThroughHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { return next(ctx, cmd) }
}

func (passThroughHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func benchCSCConfig() *redis.ClientSideCacheConfig {
	return &redis.ClientSideCacheConfig{MaxEntries: 1000}
}

func benchCSCOptions(addr string) *redis.UniversalOptions {
	return &redis.UniversalOptions{Addrs: []string{addr}, Protocol: 3, ClientSideCacheConfig: benchCSCConfig()}
}

func benchmarkCSCHits(b *testing.B, admin *redis.Client, rdb redis.UniversalClient, goroutines int) {
	warmUpForBench(b, rdb, goroutines) // the miss that fills the cache is not counted
	before := serverGETCalls(b, admin)
	benchmarkGets(b, rdb, goroutines)
	b.StopTimer()
	b.ReportMetric(float64(serverGETCalls(b, admin)-before)/float64(b.N), "server-gets/op")
}

// benchmarkGets measures GETs of benchKey from goroutines goroutines, after a
// warm-up that fills the client's pool (and its client-side cache) so that no
// dial is timed.
func benchmarkGets(b *testing.B, rdb redis.UniversalClient, goroutines int) {
	ctx := context.Background()
	warmUpForBench(b, rdb, goroutines)
	get := func() bool {
		if err := rdb.Get(ctx, benchKey).Err(); err != nil {
			b.Error(err)
			return false
		}
		return true
	}
	runGets(b, goroutines, get)
}

// runGets times b.N calls of get, from goroutines goroutines (RunParallel) or,
// for one, from the benchmark's own; a get that reports false ends its loop.
func runGets(b *testing.B, goroutines int, get func() bool) {
	b.ReportAllocs()
	b.ResetTimer()
	redistest.ReportCPUPerOp(b, func() {
		if goroutines == 1 {
			for range b.N {
				if !get() {
					return
				}
			}
			return
		}
		b.SetParallelism(benchParallelism(goroutines))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !get() {
					return
				}
			}
		})
	})
}

// benchParallelism is the SetParallelism argument that makes RunParallel start
// goroutines goroutines (rounded up to a multiple of GOMAXPROCS).
func benchParallelism(goroutines int) int {
	return max(1, (goroutines+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
}

// warmUpForBench sends a few GETs from as many goroutines as the benchmark will, so
// that the pool holds the connections the benchmark needs.
func warmUpForBench(b testing.TB, rdb redis.UniversalClient, goroutines int) {
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range 10 {
				if err := rdb.Get(context.Background(), benchKey).Err(); err != nil {
					b.Errorf("warm-up GET: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func setBenchKey(b testing.TB, srv *redistest.Server) {
	if err := srv.Client(b).Set(context.Background(), benchKey, "value", 0).Err(); err != nil {
		b.Fatal(err)
	}
}

// serverGETCalls returns how many GETs the server has executed (INFO
// commandstats).
func serverGETCalls(tb testing.TB, admin *redis.Client) int64 {
	tb.Helper()
	info, err := admin.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	for line := range strings.Lines(info) {
		stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_get:calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(stats, ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			tb.Fatalf("INFO commandstats: %q: %v", line, err)
		}
		return n
	}
	return 0 // no GET yet
}

// BenchmarkRefused: what a whole rdb.Get costs the caller when the guard
// refuses it without touching the network: with the breaker open, and with the
// server down (ErrNotReady). "client=plain" is plain go-redis with the server
// down, for comparison: its pool fails fast too once PoolSize dials failed.
func BenchmarkRefused(b *testing.B) {
	for _, g := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			b.Run("while=breaker-open/client=guarded", func(b *testing.B) {
				srv := redistest.StartServer(b)
				c := newTestClient(b, Options{
					Redis:   &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
					Breaker: breaker.Settings{OpenTimeout: time.Hour},
				})
				tripBreakerForBench(b, c)
				benchmarkRefusals(b, c, g, breaker.ErrOpen)
			})
			b.Run("while=server-down/client=guarded", func(b *testing.B) {
				srv := redistest.StartServer(b)
				c := newTestClient(b, Options{
					Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
					Reconnect: ExponentialBackoff{MaxRetries: -1},
				})
				srv.Kill()
				redistest.Eventually(b, 10*time.Second, "the client notices the server is down", func() bool {
					triggerDetection(c)
					return c.State() == StateReconnecting
				})
				benchmarkRefusals(b, c, g, ErrNotReady)
			})
			b.Run("while=server-down/client=plain", func(b *testing.B) {
				srv := redistest.StartServer(b)
				// No retries of the command: with its defaults (3, after a
				// backoff) each GET takes tens of milliseconds. One dial
				// attempt instead of 5 only shortens the set-up: once
				// PoolSize dials failed, the pool refuses without dialing.
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1})
				b.Cleanup(func() { rdb.Close() })
				srv.Kill()
				benchmarkRefusals(b, rdb, g, nil)
			})
		})
	}
}

func tripBreakerForBench(b *testing.B, c *Client) {
	for range breaker.DefaultConsecutiveFailures {
		t, _ := liveBreaker(c).Allow()
		liveBreaker(c).Done(t, breaker.ErrSlowCall)
	}
	if statusOf(c).State != breaker.StateOpen {
		b.Fatal("the breaker did not open")
	}
}

// benchmarkRefusals measures GETs that fail, with want (errors.Is), or with
// any error when want is nil.
func benchmarkRefusals(b *testing.B, rdb redis.UniversalClient, goroutines int, want error) {
	ctx := context.Background()
	get := func() bool {
		err := rdb.Get(ctx, benchKey).Err()
		if err == nil || want != nil && !errors.Is(err, want) {
			b.Errorf("GET: %v, want %v", err, want)
			return false
		}
		return true
	}
	for range 100 {
		get() // past the plain pool's first PoolSize failed dials
	}
	runGets(b, goroutines, get)
}

// BenchmarkGuardOverhead measures the guard alone: admission, the closed
// breaker and release around a command whose execution costs nothing.
func BenchmarkGuardOverhead(b *testing.B) {
	srv := redistest.StartServer(b)
	for _, disabled := range []bool{true, false} {
		name := "breaker=on"
		if disabled {
			name = "breaker=off"
		}
		b.Run(name, func(b *testing.B) {
			c := newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}, DisableBreaker: disabled})
			benchmarkProcess(b, c, nil)
		})
	}
}

// BenchmarkRefusedWhileOpen measures the guard alone refusing a command while
// the breaker is open.
func BenchmarkRefusedWhileOpen(b *testing.B) {
	srv := redistest.StartServer(b)
	c := newTestClient(b, Options{
		Redis:   &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Breaker: breaker.Settings{OpenTimeout: time.Hour},
	})
	tripBreakerForBench(b, c)
	benchmarkProcess(b, c, breaker.ErrOpen)
}

// benchmarkProcess runs the client's guard around a command that costs nothing,
// expecting want.
func benchmarkProcess(b *testing.B, c *Client, want error) {
	process := soloHook{c.solo}.ProcessHook(func(context.Context, redis.Cmder) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cmd := redis.NewStringCmd(ctx, "get", "k")
		for pb.Next() {
			if err := process(ctx, cmd); err != want {
				b.Errorf("got %v, want %v", err, want)
				return
			}
		}
	})
}

// BenchmarkGetFromNewGoroutines: each GET from a goroutine of its own, 256
// at a time, as a server that runs each request's work on a new goroutine
// does. A goroutine starts with a small stack, which it copies to a larger
// one when a call goes deeper: what the guard adds to a command's frames
// decides whether each of these goroutines does (see
// TestGuardStackOnTheReadPath).
func BenchmarkGetFromNewGoroutines(b *testing.B) {
	srv := redistest.StartServer(b)
	setBenchKey(b, srv)
	run := func(b *testing.B, rdb redis.UniversalClient) {
		warmUpForBench(b, rdb, 256)
		b.ReportAllocs()
		b.ResetTimer()
		redistest.ReportCPUPerOp(b, func() {
			sem := make(chan struct{}, 256)
			var wg sync.WaitGroup
			for range b.N {
				sem <- struct{}{}
				wg.Go(func() {
					if err := rdb.Get(context.Background(), benchKey).Err(); err != nil {
						b.Error(err)
					}
					<-sem
				})
			}
			wg.Wait()
		})
	}
	b.Run("client=plain", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		b.Cleanup(func() { rdb.Close() })
		run(b, rdb)
	})
	b.Run("client=guarded", func(b *testing.B) {
		run(b, newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}}))
	})
}
