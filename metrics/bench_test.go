package metrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// BenchmarkGet compares parallel GETs through a guarded client with and without
// the metrics, on the same server, in one run:
//
//	go test -run '^$' -bench BenchmarkGet -benchmem -count 10 ./metrics | tee get.txt
//	benchstat -col /client get.txt
func BenchmarkGet(b *testing.B) {
	srv := redistest.StartServer(b)
	ctx := context.Background()
	if err := srv.Client(b).Set(ctx, "k", "value", 0).Err(); err != nil {
		b.Fatal(err)
	}
	for _, instrumented := range []bool{false, true} {
		name := "client=bare"
		if instrumented {
			name = "client=instrumented"
		}
		b.Run(name, func(b *testing.B) {
			c := guarded(b, srv.Addr(), redisguard.Options{})
			if instrumented {
				m, err := metrics.New(metrics.Options{Registerer: prometheus.NewRegistry()})
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Instrument(c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Get(ctx, "k").Err(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHookOverhead measures the metrics hook alone, around a command that
// costs nothing.
func BenchmarkHookOverhead(b *testing.B) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		b.Fatal(err)
	}
	process := m.Hook().ProcessHook(func(context.Context, redis.Cmder) error { return nil })
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		cmd := redis.NewStringCmd(ctx, "get", "k")
		for pb.Next() {
			if err := process(ctx, cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
