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
// ADDR=:8080 in a container).
//
// # Several instances
//
// The database is a SQLite file (a pure-Go driver: nothing to install), from
// -db, or DATABASE_PATH, or productservice.db in the system's temporary
// directory. Every instance on the machine started with the same file and the
// same REDIS_URL behaves as a pod of one service: a write through one is read
// through all, also across a Redis crash and empty restart (while Redis is
// down every read goes to the database). A read that starts after a write was
// acknowledged returns that write or a newer one: the cache's leases keep
// another instance's load that read the database just before the write from
// storing the old value after it. One window remains: while Redis comes back,
// an instance whose reconnect is still scheduled cannot invalidate what the
// instances already reconnected serve. It keeps the invalidation and applies
// it on its next attempt, so such a read is at most staleBound (the reconnect
// schedule's longest delay, 3 s ± 10 %) late.
//
//	REDIS_URL=redis://localhost:6379/0 go run ./examples/productservice -addr :8081 &
//	REDIS_URL=redis://localhost:6379/0 go run ./examples/productservice -addr :8082 &
//
// # Shutdown
//
// On SIGTERM /health/ready fails at once, and the service keeps
// serving for the drain period (-drain, or DRAIN_PERIOD, 5s by default), so
// that the load balancer stops sending it requests before it stops accepting
// them; then it drains the requests in flight (at most 10 s) and closes the
// client. In Kubernetes, either set the drain period above the readiness
// probe's periodSeconds × failureThreshold plus a second or two for the
// endpoints to propagate, or give the pod a preStop hook that sleeps that long
// (SIGTERM then comes after the endpoints were removed, and the drain period
// can be short); keep terminationGracePeriodSeconds above the preStop sleep,
// the drain period and the 10 s of in-flight requests together. SIGINT
// (Ctrl-C) skips the drain period.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/metrics"
)

// loadTimeout bounds a load from the database: a query that takes longer has
// failed. staleBound is how long after a write another instance may still
// serve the value it replaced: only while Redis comes back, until the writer's
// next reconnect attempt applies its pending invalidation (the default
// schedule's longest delay, 3 s, and its jitter).
const (
	loadTimeout = time.Second
	staleBound  = 3300 * time.Millisecond
)

// errInterrupted ends the service on SIGINT, which skips the drain period.
var errInterrupted = errors.New("interrupted")

// config is what the service is started with.
type config struct {
	addr     string        // listen address
	redisURL string        // empty: an embedded miniredis
	dbPath   string        // the SQLite file every instance shares
	products int           // products put in a new database
	drain    time.Duration // serving on after SIGTERM, with readiness failing
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	drain, err := durationEnv("DRAIN_PERIOD", 5*time.Second)
	if err != nil {
		log.Error("productservice", "err", err)
		os.Exit(2)
	}
	cfg := config{products: 300, redisURL: os.Getenv("REDIS_URL")}
	flag.StringVar(&cfg.addr, "addr", envOr("ADDR", "localhost:8080"), "listen address (env ADDR)")
	flag.StringVar(&cfg.dbPath, "db", envOr("DATABASE_PATH", filepath.Join(os.TempDir(), "productservice.db")),
		"the SQLite database file, shared by every instance (env DATABASE_PATH)")
	flag.DurationVar(&cfg.drain, "drain", drain, "how long to keep serving after SIGTERM, with readiness failing (env DRAIN_PERIOD)")
	flag.Parse()
	if cfg.drain < 0 {
		log.Error("productservice: -drain must not be negative", "drain", cfg.drain)
		os.Exit(2)
	}
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if <-sigs == os.Interrupt {
			stop(errInterrupted) // Ctrl-C at a terminal: no load balancer to wait for
			return
		}
		stop(nil)
	}()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("productservice stopped", "err", err)
		os.Exit(1)
	}
}

// durationEnv reads a duration such as "5s" from the environment.
func durationEnv(key string, fallback time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
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

	db, err := openDatabase(ctx, cfg.dbPath, cfg.products)
	if err != nil {
		return err
	}
	defer db.Close()
	products, err := cache.New[Product](rdb, cache.Options{
		Prefix:      "product:",
		TTL:         10 * time.Minute,
		NegativeTTL: time.Minute,
		LoadTimeout: loadTimeout,
		Observer:    m.ObserveCache,
		OnFallback: func(key string, err error) {
			log.Debug("served from the database", "product", key, "redis_err", err)
		},
	})
	if err != nil {
		return err
	}
	defer products.Close()
	svc := &service{db: db, products: products, log: log}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: svc.routes(rdb, reg), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	log.Info("productservice listening", "addr", ln.Addr().String(), "db", cfg.dbPath)
	if listening != nil {
		listening(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Readiness fails first, and the service goes on serving while the load
	// balancer takes it out of rotation.
	svc.draining.Store(true)
	drain := cfg.drain
	if errors.Is(context.Cause(ctx), errInterrupted) {
		drain = 0
	}
	log.Info("shutting down: readiness fails; serving on for the drain period", "drain", drain)
	drainTimer := time.NewTimer(drain)
	select {
	case err := <-served:
		drainTimer.Stop()
		return err
	case <-drainTimer.C:
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
