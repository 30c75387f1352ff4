package metrics_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/metrics"
)

// Instrument a client and a cache and serve /metrics from a registry of the
// application's own.
func Example() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	rdb, err := redisguard.New(redisguard.Options{URL: "redis://" + srv.Addr()})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Instrument(rdb); err != nil {
		log.Fatal(err)
	}
	greetings, err := cache.New[string](rdb, cache.Options{Prefix: "greeting:", TTL: time.Minute, Observer: m.ObserveCache})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		_, _ = greetings.Get(ctx, "en", func(context.Context, string) (string, error) { return "hello", nil })
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "redis_cache_hit_rate") || strings.HasPrefix(line, "redis_cache_requests_total") ||
			strings.HasPrefix(line, `redis_client_state{state="ready"}`) {
			fmt.Print(line)
		}
	}
	// Output:
	// redis_cache_hit_rate{cache="greeting"} 0.6666666666666666
	// redis_cache_requests_total{cache="greeting",result="corrupt"} 0
	// redis_cache_requests_total{cache="greeting",result="fallback"} 0
	// redis_cache_requests_total{cache="greeting",result="hit"} 2
	// redis_cache_requests_total{cache="greeting",result="load_error"} 0
	// redis_cache_requests_total{cache="greeting",result="miss"} 1
	// redis_cache_requests_total{cache="greeting",result="near_hit"} 0
	// redis_cache_requests_total{cache="greeting",result="near_negative_hit"} 0
	// redis_cache_requests_total{cache="greeting",result="negative_hit"} 0
	// redis_cache_requests_total{cache="greeting",result="stale"} 0
	// redis_client_state{state="ready"} 1
}

// The series about one server carry its address in the node label, on every
// kind of client; on a cluster there is one set per node. (The address, which
// changes from run to run, is printed as <addr>.)
func Example_servers() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	rdb, err := redisguard.New(redisguard.Options{URL: "redis://" + srv.Addr()})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.WaitReady(context.Background()); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Instrument(rdb); err != nil {
		log.Fatal(err)
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.Contains(line, `node="`) && strings.HasSuffix(line, " 1\n") || strings.HasPrefix(line, "redis_client_reconnect_attempts_total{") {
			fmt.Print(strings.ReplaceAll(line, srv.Addr(), "<addr>"))
		}
	}
	// Output:
	// redis_breaker_state{node="<addr>",state="closed"} 1
	// redis_client_node_state{node="<addr>",state="ready"} 1
	// redis_client_reconnect_attempts_total{node="<addr>"} 0
}

// Alerts on the default production thresholds, logged as they fire and resolve.
// (Compiled, not run: it needs a real server and minutes to say anything.)
func ExampleNewMonitor() {
	rdb, err := redisguard.New(redisguard.Options{URL: "redis://localhost:6379/0"})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()

	monitor, err := metrics.NewMonitor(rdb, metrics.MonitorOptions{
		Interval: 30 * time.Second, // memory 85 %, fragmentation 1.5, clients 90 %, 10 blocked, 10 ms slow: the defaults
		OnAlert: func(a metrics.Alert) {
			if a.Firing {
				log.Printf("ALERT %s: %s", a.Name, a.Message)
			} else {
				log.Printf("resolved %s: %s", a.Name, a.Message)
			}
		},
		OnError: func(err error) { log.Printf("redis monitor: %v", err) },
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = monitor.Run(ctx) }()
}
