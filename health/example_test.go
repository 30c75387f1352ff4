package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
)

// exampleClient returns a ready client on an embedded Redis; point URL at a
// real one.
func exampleClient() (*redisguard.Client, *miniredis.Miniredis) {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	rdb, err := redisguard.New(redisguard.Options{
		URL:       "redis://" + srv.Addr(),
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1}, // never give up: see the package documentation
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	return rdb, srv
}

// probe GETs path on h and prints the status code and the answer's fields
// that do not change from run to run (not the latency).
func probe(h http.Handler, path string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body struct {
		Status, State, Breaker, Warning, Error string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		log.Fatal(err)
	}
	line := []string{path, strconv.Itoa(rec.Code)}
	for _, field := range []string{body.Status, body.State, body.Breaker, body.Warning, body.Error} {
		if field != "" {
			line = append(line, field)
		}
	}
	fmt.Println(strings.Join(line, " "))
}

// Mount the three endpoints on the service's mux.
func Example() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	mux := http.NewServeMux()
	mux.Handle("/health/redis", health.Handler(rdb))
	mux.Handle("/health/live", health.Liveness(rdb))
	mux.Handle("/health/ready", health.Readiness(rdb))
	// http.ListenAndServe(":8080", mux)

	for _, path := range []string{"/health/redis", "/health/live", "/health/ready"} {
		probe(mux, path)
	}
	// Output:
	// /health/redis 200 healthy ready closed
	// /health/live 200 healthy ready
	// /health/ready 200 healthy ready closed
}

// While Redis is down, readiness takes the pod out of its Service and
// liveness keeps it running: the client reconnects by itself.
func Example_outage() {
	rdb, srv := exampleClient()
	defer rdb.Close()
	mux := http.NewServeMux()
	mux.Handle("/health/live", health.Liveness(rdb))
	mux.Handle("/health/ready", health.Readiness(rdb))

	srv.Close()                              // Redis goes away
	_ = rdb.Ping(context.Background()).Err() // and the client notices

	probe(mux, "/health/ready")
	probe(mux, "/health/live")
	// Output:
	// /health/ready 503 unhealthy reconnecting closed client not ready (reconnecting): connection refused
	// /health/live 200 healthy reconnecting client not ready (reconnecting): connection refused
}

// A service whose Redis is a cache stays in its Service while Redis is down:
// readiness answers 200 and reports Redis as degraded, while /health/redis
// shows the failure.
func ExampleOptions_optional() {
	rdb, srv := exampleClient()
	defer rdb.Close()
	mux := http.NewServeMux()
	mux.Handle("/health/redis", health.Handler(rdb))
	mux.Handle("/health/ready", health.Readiness(rdb, health.Options{Optional: true}))

	srv.Close()                              // Redis goes away
	_ = rdb.Ping(context.Background()).Err() // and the client notices

	probe(mux, "/health/ready")
	probe(mux, "/health/redis")
	// Output:
	// /health/ready 200 degraded reconnecting closed client not ready (reconnecting): connection refused
	// /health/redis 503 unhealthy reconnecting closed client not ready (reconnecting): connection refused
}

// NewReadiness stops a program that passes a nil client at startup, instead
// of answering 500 to every probe.
func ExampleNewReadiness() {
	var rdb *redisguard.Client // never assigned: a mistake
	ready, err := health.NewReadiness(rdb, health.Options{Optional: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	http.Handle("/health/ready", ready)
	// Output:
	// health: no Redis client: NewReadiness got a nil *redisguard.Client
}

// Ask for application/health+json with the Accept header.
func ExampleHandler_healthJSON() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	req := httptest.NewRequest(http.MethodGet, "/health/redis", nil)
	req.Header.Set("Accept", "application/health+json")
	rec := httptest.NewRecorder()
	health.Handler(rdb).ServeHTTP(rec, req)

	var body struct {
		Status string
		Checks map[string][]struct {
			ObservedUnit string
			Status       string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		log.Fatal(err)
	}
	rt := body.Checks["redis:responseTime"][0]
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), body.Status, rt.Status, rt.ObservedUnit)
	// Output:
	// 200 application/health+json pass pass ms
}

// Check serves programs that are not HTTP servers.
func ExampleCheck() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res := health.Check(ctx, rdb)
	if res.Status != health.StatusHealthy {
		log.Printf("redis: %s (%v)", res.Message(), res.Err)
	}
	fmt.Println(res.Status, res.State, res.Breaker)
	// Output:
	// healthy ready closed
}

// A client that cannot connect says why: here a wrong password.
func ExampleCheck_cause() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.RequireAuth("right-password")
	rdb, err := redisguard.New(redisguard.Options{
		URL:       "redis://:wrong-password@" + srv.Addr(),
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = rdb.WaitReady(ctx) // its error says the same, with the address

	res := health.Check(context.Background(), rdb)
	fmt.Println(res.Status)
	fmt.Println(res.Message())
	// Output:
	// unhealthy
	// client not ready (reconnecting): authentication failed: WRONGPASS invalid username-password pair
}

// On a cluster, Check PINGs every node of the slot map and passes while the
// client is ready and some node answers; Nodes says which do not, and why.
// (Compiled, not run: it needs a cluster.)
func ExampleCheck_cluster() {
	rdb, err := redisguard.New(redisguard.Options{
		Redis: &redis.UniversalOptions{
			Addrs:         []string{"10.0.0.6:6379", "10.0.0.7:6379", "10.0.0.8:6379"},
			IsClusterMode: true,
		},
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()

	res := health.Check(context.Background(), rdb)
	if res.Status != health.StatusHealthy {
		log.Printf("redis: %s", res.Message()) // "no node answered: timeout after 1s"
	}
	for _, n := range res.Nodes {
		if n.Err != nil {
			log.Printf("redis node %s: %s", n.Addr, n.Message()) // "client not ready (reconnecting): connection refused"
		}
	}
}
