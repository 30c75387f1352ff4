// Command productservice is a product HTTP service: product
// reads go through a cache-aside cache over a guarded Redis client, answered by
// the database when Redis fails, with health endpoints and Prometheus metrics.
//
//	go run ./examples/productservice                  # an embedded Redis
//	REDIS_URL=redis://localhost:6379/0 go run ./examples/productservice
//
//	curl localhost:8080/products/42
//	curl -X PUT localhost:8080/products/42 -d '{"name":"Teapot","price":19.5,"stock":3}'
//	curl -X DELETE localhost:8080/products/42/cache
//	curl localhost:8080/health/redis localhost:8080/health/live localhost:8080/health/ready
//	curl localhost:8080/metrics
//
// The listen address comes from -addr, or ADDR, or is localhost:8080 (set
// ADDR=:8080 in a container). SIGINT or SIGTERM drains the HTTP server and
// closes the client.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/metrics"
)

// config is what the service is started with.
type config struct {
	addr      string        // listen address
	redisURL  string        // empty: an embedded miniredis
	products  int           // products in the database
	dbLatency time.Duration // of one database query
}

func main() {
	cfg := config{products: 300, dbLatency: 5 * time.Millisecond, redisURL: os.Getenv("REDIS_URL")}
	flag.StringVar(&cfg.addr, "addr", envOr("ADDR", "localhost:8080"), "listen address (env ADDR)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("productservice stopped", "err", err)
		os.Exit(1)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// run serves until ctx ends, then shuts down gracefully. listening, if not nil,
// is called with the address once the server accepts connections.
func run(ctx context.Context, cfg config, log *slog.Logger, listening func(addr string)) error {
	redisURL := cfg.redisURL
	if redisURL == "" {
		srv, err := miniredis.Run()
		if err != nil {
			return err
		}
		defer srv.Close()
		redisURL = "redis://" + srv.Addr()
		log.Info("REDIS_URL is not set: using an embedded miniredis", "addr", srv.Addr())
	}

	rdb, err := redisguard.New(redisguard.Options{
		URL: redisURL,
		// Keep trying while Redis is away: the cache answers from the database
		// meanwhile, and /health/live stays up (see package health).
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1, Jitter: 0.1},
		Logger:    log.With("component", "redis"),
	})
	if err != nil {
		return err
	}
	defer rdb.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		return err
	}
	if err := m.Instrument(rdb); err != nil {
		return err
	}
	reg.MustRegister(metrics.NewServerCollector(rdb, metrics.ServerOptions{}))

	db := newDatabase(cfg.products, cfg.dbLatency)
	products, err := cache.New[Product](rdb, cache.Options{
		Prefix:      "product:",
		TTL:         10 * time.Minute,
		NegativeTTL: time.Minute,
		Observer:    m.ObserveCache,
		OnFallback: func(key string, err error) {
			log.Debug("served from the database", "product", key, "redis_err", err)
		},
	})
	if err != nil {
		return err
	}
	svc := &service{db: db, products: products, log: log}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: svc.routes(rdb, reg), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	log.Info("productservice listening", "addr", ln.Addr().String())
	if listening != nil {
		listening(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining HTTP requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil // the deferred Close drains the client and ends its supervisor
}
