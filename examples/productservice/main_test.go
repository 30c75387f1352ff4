package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs the service, with a database of its own, on a free loopback
// port until the test ends and returns its base URL once its client is ready.
func start(t *testing.T, redisURL string) string {
	t.Helper()
	in := startInstance(t, config{redisURL: redisURL, dbPath: filepath.Join(t.TempDir(), "products.db")})
	// Wait until the client is ready (/health/ready, with Redis optional,
	// answers 200 before).
	deadline := time.Now().Add(5 * time.Second)
	for status(t, http.MethodGet, in.base+"/health/redis", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the service never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return in.base
}

// instance is the service running in the test's process, as one pod.
type instance struct {
	base string
	stop func() error // as SIGTERM: drains, shuts down, returns run's error
}

// startInstance runs the service with cfg (on a free loopback port, with 300
// products, unless cfg says otherwise) until stop or the end of the test.
func startInstance(t *testing.T, cfg config) *instance {
	t.Helper()
	if cfg.addr == "" {
		cfg.addr = "127.0.0.1:0"
	}
	if cfg.products == 0 {
		cfg.products = 300
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- run(ctx, cfg, log, func(addr string) { addrs <- addr }) }()
	in := &instance{}
	select {
	case addr := <-addrs:
		in.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("the service did not start: %v", err)
	}
	var once sync.Once
	var err error
	in.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return in
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: invalid JSON %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode, out
}

func status(t *testing.T, method, url, body string) int {
	code, _ := call(t, method, url, body)
	return code
}

func TestProductService(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, backend := range []struct{ name, url string }{
		{"embedded", ""},
		{"redis-server", "redis://" + srv.Addr() + "/0"},
	} {
		t.Run(backend.name, func(t *testing.T) {
			base := start(t, backend.url)

			code, p := call(t, http.MethodGet, base+"/products/42", "")
			if code != http.StatusOK || p["id"] != "42" || p["name"] != "Product 42" {
				t.Fatalf("GET /products/42: %d %v", code, p)
			}
			if code, _ := call(t, http.MethodGet, base+"/products/42", ""); code != http.StatusOK {
				t.Fatalf("second GET: %d", code)
			}
			if code, body := call(t, http.MethodGet, base+"/products/100000", ""); code != http.StatusNotFound || body["error"] == nil {
				t.Fatalf("GET of an unknown product: %d %v", code, body)
			}

			code, p = call(t, http.MethodPut, base+"/products/42", `{"name":"Teapot","price":19.5,"stock":3}`)
			if code != http.StatusOK || p["name"] != "Teapot" {
				t.Fatalf("PUT: %d %v", code, p)
			}
			if _, p := call(t, http.MethodGet, base+"/products/42", ""); p["name"] != "Teapot" || p["price"] != 19.5 {
				t.Fatalf("GET after PUT: %v", p)
			}
			for body, want := range map[string]int{
				`{"name":""}`:             http.StatusBadRequest,
				`{"name":"x","price":-1}`: http.StatusBadRequest,
				`{"id":"7","name":"x"}`:   http.StatusBadRequest,
				`not json`:                http.StatusBadRequest,
				`{"name":"x","bogus":1}`:  http.StatusBadRequest,
			} {
				if code := status(t, http.MethodPut, base+"/products/42", body); code != want {
					t.Errorf("PUT %s: %d, want %d", body, code, want)
				}
			}
			if code := status(t, http.MethodPut, base+"/products/100000", `{"name":"x"}`); code != http.StatusNotFound {
				t.Errorf("PUT of an unknown product: %d", code)
			}
			if code := status(t, http.MethodDelete, base+"/products/42/cache", ""); code != http.StatusNoContent {
				t.Fatalf("DELETE /products/42/cache: %d", code)
			}
			if _, p := call(t, http.MethodGet, base+"/products/42", ""); p["name"] != "Teapot" {
				t.Fatalf("GET after invalidation: %v", p)
			}

			for _, path := range []string{"/health/redis", "/health/live", "/health/ready"} {
				code, body := call(t, http.MethodGet, base+path, "")
				if code != http.StatusOK || body["status"] != "healthy" || body["state"] != "ready" {
					t.Errorf("GET %s: %d %v", path, code, body)
				}
			}

			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, name := range []string{
				`redis_commands_total{command="get"}`, "redis_command_duration_seconds_bucket",
				"redis_client_state", "redis_breaker_state", "redis_client_queue_length", "redis_pool_connections",
				`redis_cache_requests_total{cache="product",result="hit"}`, `redis_cache_hit_rate{cache="product"}`,
				"redis_server_up", "go_goroutines",
			} {
				if !strings.Contains(string(text), name) {
					t.Errorf("/metrics lacks %s", name)
				}
			}
			if backend.name == "redis-server" {
				for _, name := range []string{`redis_memory_bytes{type="used"}`, "redis_connected_clients", "redis_keyspace_hits_total"} {
					if !strings.Contains(string(text), name) {
						t.Errorf("/metrics lacks %s", name)
					}
				}
			}
		})
	}
}

func TestProductServiceAnswersWhileRedisIsDown(t *testing.T) {
	for _, fault := range []string{"killed", "paused"} {
		t.Run(fault, func(t *testing.T) {
			srv := redistest.StartServer(t)
			base := start(t, "redis://"+srv.Addr()+"/0")
			if code := status(t, http.MethodGet, base+"/products/7", ""); code != http.StatusOK {
				t.Fatal(code)
			}
			if fault == "killed" {
				srv.Kill()
			} else {
				srv.Stop()
				t.Cleanup(srv.Continue)
			}
			for range 20 {
				if code, p := call(t, http.MethodGet, base+"/products/7", ""); code != http.StatusOK || p["id"] != "7" {
					t.Fatalf("GET while Redis is %s: %d %v", fault, code, p)
				}
			}
			// Redis is optional for this service: it stays ready, and says
			// that Redis is degraded; /health/redis shows the failure.
			redistest.Eventually(t, 5*time.Second, "/health/redis fails", func() bool {
				return status(t, http.MethodGet, base+"/health/redis", "") == http.StatusServiceUnavailable
			})
			if code, body := call(t, http.MethodGet, base+"/health/ready", ""); code != http.StatusOK || body["status"] != "degraded" || body["error"] == nil {
				t.Fatalf("/health/ready while Redis is %s: %d %v, want 200 degraded", fault, code, body)
			}
			if code, body := callHealthJSON(t, base+"/health/ready"); code != http.StatusOK || body["status"] != "warn" {
				t.Fatalf("/health/ready while Redis is %s, health+json: %d %v, want 200 warn", fault, code, body)
			}
			if code := status(t, http.MethodGet, base+"/health/live", ""); code != http.StatusOK {
				t.Fatalf("/health/live while Redis is %s: %d", fault, code)
			}
		})
	}
}

// callHealthJSON GETs url asking for application/health+json.
func callHealthJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/health+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}
