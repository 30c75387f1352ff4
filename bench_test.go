package redisguard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// BenchmarkGet compares parallel GETs through the guarded client with plain
// go-redis on the same redis-server, in one run:
//
//	go test -run '^$' -bench BenchmarkGet -benchmem -count 10 . | tee get.txt
//	benchstat -col /client get.txt
func BenchmarkGet(b *testing.B) {
	srv := redistest.StartServer(b)
	ctx := context.Background()
	if err := srv.Client(b).Set(ctx, "k", "value", 0).Err(); err != nil {
		b.Fatal(err)
	}
	get := func(b *testing.B, rdb redis.UniversalClient) {
		b.ReportAllocs()
		b.ResetTimer()
		redistest.ReportCPUPerOp(b, func() {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := rdb.Get(ctx, "k").Err(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	b.Run("client=raw", func(b *testing.B) {
		raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		defer raw.Close()
		get(b, raw)
	})
	b.Run("client=guarded", func(b *testing.B) {
		c := newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
		get(b, c)
	})
	b.Run("client=guarded-without-breaker", func(b *testing.B) {
		c := newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}, DisableBreaker: true})
		get(b, c)
	})
}

// BenchmarkRefusedWhileReconnecting measures what a command costs the caller
// while the server is down: the fail-fast path.
func BenchmarkRefusedWhileReconnecting(b *testing.B) {
	srv := redistest.StartServer(b)
	c := newTestClient(b, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
	})
	srv.Kill()
	triggerDetection(c)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Get(ctx, "k").Err(); !errors.Is(err, ErrNotReady) {
				b.Errorf("GET: %v, want ErrNotReady", err)
				return
			}
		}
	})
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

// BenchmarkRefusedWhileOpen measures what a command costs the caller while the
// breaker is open.
func BenchmarkRefusedWhileOpen(b *testing.B) {
	srv := redistest.StartServer(b)
	c := newTestClient(b, Options{
		Redis:   &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Breaker: breaker.Settings{OpenTimeout: time.Hour},
	})
	for range breaker.DefaultConsecutiveFailures {
		t, _ := c.Breaker().Allow()
		c.Breaker().Done(t, breaker.ErrSlowCall)
	}
	if c.Breaker().State() != breaker.StateOpen {
		b.Fatal("the breaker did not open")
	}
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
