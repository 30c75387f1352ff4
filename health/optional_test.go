package health_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// checkDegraded fails unless h answers 200 with Redis reported as degraded,
// in both formats, with the plain answer's error one of want.
func checkDegraded(t *testing.T, h http.Handler, want ...string) {
	t.Helper()
	a, b := get(t, h)
	if a.code != http.StatusOK || b.Status != "degraded" || !oneOf(b.Error, want) || b.Warning != "" {
		t.Fatalf("answer %d %s, want 200 degraded with an error among %q", a.code, a.body, want)
	}
	a, hb := getHealth(t, h)
	if a.code != http.StatusOK || hb.Status != "warn" || !oneOf(hb.Output, want) {
		t.Fatalf("health+json: answer %d %s, want 200 warn", a.code, a.body)
	}
	probe := hb.Checks["redis:responseTime"]
	if len(probe) != 1 || probe[0].Status != "warn" || !oneOf(probe[0].Output, want) {
		t.Fatalf("health+json: redis:responseTime %+v, want warn", probe)
	}
	for name, checks := range hb.Checks {
		for _, c := range checks {
			if c.Status == "fail" {
				t.Fatalf("health+json: check %s fails in an answer that warns: %s", name, a.body)
			}
		}
	}
}

func oneOf(s string, set []string) bool {
	for _, w := range set {
		if s == w {
			return true
		}
	}
	return false
}

func TestOptionalReadinessStaysReadyThroughAnOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())
	ready := health.Readiness(c, health.Options{Optional: true})
	strict := health.Readiness(c)
	if a, b := get(t, ready); a.code != http.StatusOK || b.Status != "healthy" || b.State != "ready" || b.Error != "" {
		t.Fatalf("optional readiness while ready: %d %s", a.code, a.body)
	}
	if a, hb := getHealth(t, ready); a.code != http.StatusOK || hb.Status != "pass" {
		t.Fatalf("optional readiness while ready, health+json: %d %s", a.code, a.body)
	}

	srv.Kill()
	redistest.Eventually(t, 2*time.Second, "the client notices", func() bool {
		return request(strict, http.MethodGet, "").code == http.StatusServiceUnavailable
	})
	// Reconnecting: answered from the client's state, "connection refused"
	// if the PING went out first.
	checkDegraded(t, ready, "client not ready (reconnecting): connection refused", "connection refused")
	if a, b := get(t, ready); b.State != "reconnecting" {
		t.Fatalf("optional readiness while reconnecting: %d %s, want the state", a.code, a.body)
	}

	srv.Restart()
	redistest.Eventually(t, 2*time.Second, "healthy again", func() bool {
		a, b := get(t, ready)
		return a.code == http.StatusOK && b.Status == "healthy" && b.State == "ready"
	})
}

func TestOptionalReadinessAgainstAPausedServer(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())
	const timeout = 200 * time.Millisecond
	ready := health.Readiness(c, health.Options{Optional: true, Timeout: timeout})
	srv.Stop()
	t.Cleanup(srv.Continue)

	// The first answers wait for the PING's timeout; once the timeouts open
	// the breaker, or send the client reconnecting, they come from its state.
	var slowest time.Duration
	for range 8 {
		a := request(ready, http.MethodGet, "")
		if a.took > timeout+time.Second {
			t.Fatalf("an answer took %v with a %v timeout", a.took, timeout)
		}
		slowest = max(slowest, a.took)
		checkDegraded(t, ready, "timeout after 200ms", "circuit breaker open", "client not ready (reconnecting): timeout", "client not ready (reconnecting)")
	}
	_, last := get(t, ready)
	t.Logf("while paused every answer was 200 degraded; the slowest of 8 timed ones took %v; the last said %q", slowest.Round(time.Millisecond), last.Error)

	srv.Continue()
	redistest.Eventually(t, 10*time.Second, "healthy after the resume", func() bool {
		a, b := get(t, ready)
		return a.code == http.StatusOK && b.Status == "healthy"
	})
}

func TestOptionalWithAPlainClient(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ready := health.Readiness(rdb, health.Options{Optional: true})
	if a, b := get(t, ready); a.code != http.StatusOK || b.Status != "healthy" {
		t.Fatalf("while up: %d %s", a.code, a.body)
	}
	srv.Kill()
	checkDegraded(t, ready, "connection refused", "connection closed by server")
	if a, b := get(t, health.Handler(rdb)); a.code != http.StatusServiceUnavailable || b.Status != "unhealthy" {
		t.Fatalf("Handler without Optional: %d %s, want 503", a.code, a.body)
	}
}
