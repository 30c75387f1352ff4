package health_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestConcurrentProbesShareOnePing(t *testing.T) {
	t.Parallel()
	for _, isGuarded := range []bool{true, false} {
		t.Run(map[bool]string{true: "redisguard", false: "go-redis"}[isGuarded], func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			proxy := redistest.NewProxy(t, srv.Addr())
			var rdb redis.UniversalClient = plain(t, proxy.Addr())
			if isGuarded {
				rdb = guarded(t, proxy.Addr())
			}
			if err := rdb.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			// 50 ms each way: the 100 probes overlap the PING in flight.
			proxy.Latency(50 * time.Millisecond)
			h := health.Handler(rdb)
			before, requests := pings(t, srv), proxy.Requests()

			const probes = 100
			start := make(chan struct{})
			codes := make(chan int, probes)
			var wg sync.WaitGroup
			for range probes {
				wg.Go(func() {
					<-start
					codes <- request(h, http.MethodGet, "").code
				})
			}
			began := time.Now()
			close(start)
			wg.Wait()
			took := time.Since(began)
			close(codes)
			for code := range codes {
				if code != http.StatusOK {
					t.Fatalf("a probe got %d", code)
				}
			}
			sent := pings(t, srv) - before
			if sent < 1 || sent > 3 {
				t.Fatalf("%d probes sent %d PINGs, want 1 to 3", probes, sent)
			}
			if n := proxy.Requests() - requests; n != sent {
				t.Fatalf("%d requests at the proxy, %d PINGs at the server", n, sent)
			}
			t.Logf("%d concurrent probes: %d PING(s) in %v", probes, sent, took.Round(time.Millisecond))
		})
	}
}
