package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redistest"
)

// fastReconnect retries every 10 to 50 ms, forever.
var fastReconnect = redisguard.ExponentialBackoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, MaxRetries: -1}

// guarded returns a ready redisguard client to addr, closed when the test
// ends. edit, if given, adjusts the options first.
func guarded(t testing.TB, addr string, edit ...func(*redisguard.Options)) *redisguard.Client {
	t.Helper()
	opts := redisguard.Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{addr}},
		Reconnect: fastReconnect,
	}
	for _, e := range edit {
		e(&opts)
	}
	c, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// plain returns a go-redis client to addr that honours context deadlines,
// closed when the test ends.
func plain(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// answer is what an endpoint answered to one request.
type answer struct {
	code   int
	header http.Header
	body   []byte
	took   time.Duration
}

// body is the plain JSON answer.
type body struct {
	Status    string            `json:"status"`
	Latency   string            `json:"latency"`
	LatencyMS *float64          `json:"latency_ms"`
	State     string            `json:"state"`
	Breaker   string            `json:"breaker"`
	Warning   string            `json:"warning"`
	Error     string            `json:"error"`
	Nodes     map[string]string `json:"nodes"`
}

// healthBody is the application/health+json answer.
type healthBody struct {
	Status string                   `json:"status"`
	Output string                   `json:"output"`
	Checks map[string][]healthCheck `json:"checks"`
}

type healthCheck struct {
	ComponentID   string `json:"componentId"`
	ComponentType string `json:"componentType"`
	ObservedValue any    `json:"observedValue"`
	ObservedUnit  string `json:"observedUnit"`
	Status        string `json:"status"`
	Time          string `json:"time"`
	Output        string `json:"output"`
}

// request sends method to h with the Accept header accept (none if empty).
func request(h http.Handler, method, accept string) answer {
	return requestCtx(context.Background(), h, method, accept)
}

func requestCtx(ctx context.Context, h http.Handler, method, accept string) answer {
	req := httptest.NewRequestWithContext(ctx, method, "/health", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return answer{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes(), took: time.Since(start)}
}

// get sends GET to h and decodes the plain JSON answer.
func get(t testing.TB, h http.Handler) (answer, body) {
	t.Helper()
	a := request(h, http.MethodGet, "")
	var b body
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return a, b
}

// getHealth sends GET to h asking for application/health+json, and decodes it.
func getHealth(t testing.TB, h http.Handler) (answer, healthBody) {
	t.Helper()
	a := request(h, http.MethodGet, "application/health+json")
	if ct := a.header.Get("Content-Type"); ct != "application/health+json" {
		t.Fatalf("Content-Type %q, want application/health+json", ct)
	}
	var b healthBody
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return a, b
}

// keys returns the top-level fields of a JSON object.
func keys(t testing.TB, raw []byte) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// lostServer are the causes a client gives for a server that went away.
var lostServer = []string{"connection refused", "connection reset by peer", "connection closed by server"}

// reconnecting reports whether msg says that the client is reconnecting to a
// server that went away, with the cause when it knows one.
func reconnecting(msg string) bool {
	cause, ok := strings.CutPrefix(msg, "client not ready (reconnecting)")
	if !ok {
		return false
	}
	cause, ok = strings.CutPrefix(cause, ": ")
	return cause == "" || ok && slices.Contains(lostServer, cause)
}

var pingCalls = regexp.MustCompile(`cmdstat_ping:calls=(\d+)`)

// pings returns how many PINGs srv has executed, from INFO commandstats.
func pings(t testing.TB, srv *redistest.Server) int {
	t.Helper()
	info, err := srv.Client(t).Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := pingCalls.FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
