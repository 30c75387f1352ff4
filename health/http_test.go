package health_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// endpoints returns the three endpoints on c.
func endpoints(t *testing.T, addr string) map[string]http.Handler {
	t.Helper()
	c := guarded(t, addr)
	return map[string]http.Handler{
		"/health/redis": health.Handler(c),
		"/health/live":  health.Liveness(c),
		"/health/ready": health.Readiness(c),
	}
}

// checkHeaders fails unless a carries the headers every answer has.
func checkHeaders(t *testing.T, a answer, contentType string) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Type":  contentType,
		"Cache-Control": "no-store",
		"Vary":          "Accept",
	} {
		if got := a.header.Get(name); got != want {
			t.Fatalf("%s %q, want %q", name, got, want)
		}
	}
}

func TestHeadAndMethods(t *testing.T) {
	t.Parallel()
	for _, healthy := range []bool{true, false} {
		t.Run(map[bool]string{true: "healthy", false: "killed"}[healthy], func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			eps := endpoints(t, srv.Addr())
			unhealthy := false
			if !healthy {
				srv.Kill()
				// Answered from the client's state once it noticed.
				redistest.Eventually(t, 2*time.Second, "unready", func() bool {
					return request(eps["/health/ready"], http.MethodGet, "").code == http.StatusServiceUnavailable
				})
				unhealthy = true
			}
			for path, h := range eps {
				wantCode := http.StatusOK
				if unhealthy && path != "/health/live" { // reconnecting is alive
					wantCode = http.StatusServiceUnavailable
				}
				g := request(h, http.MethodGet, "")
				checkHeaders(t, g, "application/json")
				if g.code != wantCode || g.header.Get("Content-Length") != strconv.Itoa(len(g.body)) {
					t.Fatalf("GET %s: %d, Content-Length %q for %d bytes", path, g.code, g.header.Get("Content-Length"), len(g.body))
				}
				for _, accept := range []string{"", "application/health+json"} {
					hd := request(h, http.MethodHead, accept)
					ctype := map[string]string{"": "application/json", "application/health+json": "application/health+json"}[accept]
					checkHeaders(t, hd, ctype)
					if hd.code != wantCode || len(hd.body) != 0 {
						t.Fatalf("HEAD %s (Accept %q): %d with %d bytes of body, want %d and none", path, accept, hd.code, len(hd.body), wantCode)
					}
					if n, err := strconv.Atoi(hd.header.Get("Content-Length")); err != nil || n == 0 {
						t.Fatalf("HEAD %s: Content-Length %q, want GET's", path, hd.header.Get("Content-Length"))
					}
				}
				for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
					a := request(h, method, "")
					if a.code != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, HEAD" {
						t.Fatalf("%s %s: %d, Allow %q; want 405, GET, HEAD", method, path, a.code, a.header.Get("Allow"))
					}
					checkHeaders(t, a, "application/json")
				}
			}
		})
	}
}

func TestHealthJSON(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())

	t.Run("pass", func(t *testing.T) {
		a, b := getHealth(t, health.Handler(c))
		if a.code != http.StatusOK || b.Status != "pass" || b.Output != "" || len(b.Checks) != 3 {
			t.Fatalf("answer %d %s, want 200 pass with 3 checks", a.code, a.body)
		}
		rt := b.Checks["redis:responseTime"]
		if len(rt) != 1 || rt[0].ComponentType != "datastore" || rt[0].ObservedUnit != "ms" || rt[0].Status != "pass" || rt[0].Output != "" {
			t.Fatalf("redis:responseTime %+v", rt)
		}
		if ms, ok := rt[0].ObservedValue.(float64); !ok || ms <= 0 || ms > 1000 {
			t.Fatalf("redis:responseTime observedValue %v, want milliseconds", rt[0].ObservedValue)
		}
		at, err := time.Parse(time.RFC3339, rt[0].Time)
		if err != nil || time.Since(at).Abs() > 5*time.Second {
			t.Fatalf("time %q (%v), want RFC 3339 of now", rt[0].Time, err)
		}
		if conn := b.Checks["redis:connection"]; conn[0].ObservedValue != "ready" || conn[0].Status != "pass" {
			t.Fatalf("redis:connection %+v", conn)
		}
		if cb := b.Checks["redis:circuitBreaker"]; cb[0].ObservedValue != "closed" || cb[0].Status != "pass" {
			t.Fatalf("redis:circuitBreaker %+v", cb)
		}
	})

	t.Run("warn on latency", func(t *testing.T) {
		h := health.Handler(c, health.Options{WarnLatency: time.Nanosecond})
		a, b := getHealth(t, h)
		rt := b.Checks["redis:responseTime"][0]
		if a.code != http.StatusOK || b.Status != "warn" || rt.Status != "warn" || rt.Output == "" || b.Output != rt.Output {
			t.Fatalf("answer %d %s, want 200 warn on the response time", a.code, a.body)
		}
		if _, ok := rt.ObservedValue.(float64); !ok {
			t.Fatalf("a warning hides the latency: %s", a.body)
		}
		a, p := get(t, h)
		if a.code != http.StatusOK || p.Status != "healthy" || p.Warning == "" || p.LatencyMS == nil {
			t.Fatalf("plain JSON: %d %s, want healthy with a warning", a.code, a.body)
		}
		if a, b := getHealth(t, health.Handler(c, health.Options{WarnLatency: time.Minute})); b.Status != "pass" {
			t.Fatalf("PING under the threshold: %s", a.body)
		}
	})

	t.Run("fail", func(t *testing.T) {
		srv := redistest.StartServer(t)
		c := guarded(t, srv.Addr())
		h, live := health.Handler(c), health.Liveness(c)
		srv.Kill()
		redistest.Eventually(t, 2*time.Second, "reconnecting", func() bool {
			_, b := getHealth(t, h)
			return reconnecting(b.Output)
		})
		a, b := getHealth(t, h)
		rt, conn := b.Checks["redis:responseTime"][0], b.Checks["redis:connection"][0]
		if a.code != http.StatusServiceUnavailable || b.Status != "fail" || rt.Status != "fail" || rt.Output != b.Output || rt.ObservedValue != nil {
			t.Fatalf("answer %d %s, want 503 fail without a latency", a.code, a.body)
		}
		if conn.Status != "fail" || conn.ObservedValue != "reconnecting" {
			t.Fatalf("redis:connection %+v", conn)
		}
		// Liveness: reconnecting is a warning, not a failure.
		a, b = getHealth(t, live)
		if a.code != http.StatusOK || b.Status != "warn" || b.Checks["redis:connection"][0].Status != "warn" || len(b.Checks) != 1 {
			t.Fatalf("liveness: %d %s, want 200 warn", a.code, a.body)
		}
	})
}

func TestAcceptNegotiation(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	h := health.Liveness(guarded(t, srv.Addr()))
	for accept, want := range map[string]string{
		"":                                       "application/json",
		"application/json":                       "application/json",
		"*/*":                                    "application/json",
		"text/html, */*;q=0.8":                   "application/json",
		"application/health+json":                "application/health+json",
		"APPLICATION/HEALTH+JSON":                "application/health+json",
		"application/health+json; charset=utf-8": "application/health+json",
		"application/json, application/health+json":         "application/health+json",
		"text/html, application/health+json;q=0.9":          "application/health+json",
		"application/health+json;q=0.5, application/json":   "application/json",
		"application/health+json;q=0":                       "application/json",
		"application/health+json;q=bogus, application/json": "application/json",
		"garbage;;, application/health+json":                "application/health+json",
	} {
		if got := request(h, http.MethodGet, accept).header.Get("Content-Type"); got != want {
			t.Errorf("Accept %q: Content-Type %q, want %q", accept, got, want)
		}
	}
}

func TestServedOverHTTP(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	mux := http.NewServeMux()
	for path, h := range endpoints(t, srv.Addr()) {
		mux.Handle(path, h)
	}
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	for _, path := range []string{"/health/redis", "/health/live", "/health/ready"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequest(method, web.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := web.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, resp.Header)
			}
			bad := resp.ContentLength != int64(len(b)) // GET
			if method == http.MethodHead {
				bad = len(b) != 0 || resp.ContentLength <= 0
			}
			if bad {
				t.Fatalf("%s %s: Content-Length %d with %d bytes of body", method, path, resp.ContentLength, len(b))
			}
		}
	}
}
