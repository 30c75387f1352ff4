package health_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/guardtest"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestReadinessFollowsTheClientThroughAnOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())
	ready, live := health.Readiness(c), health.Liveness(c)
	if a, b := get(t, ready); a.code != http.StatusOK || b.State != "ready" {
		t.Fatalf("readiness while ready: %d %s", a.code, a.body)
	}

	srv.Kill()
	redistest.Eventually(t, 2*time.Second, "unready from the state", func() bool {
		a, b := get(t, ready)
		if a.code != http.StatusServiceUnavailable {
			t.Fatalf("readiness after the kill: %d %s", a.code, a.body)
		}
		return reconnecting(b.Error)
	})
	if a, _ := get(t, live); a.code != http.StatusOK {
		t.Fatalf("liveness while reconnecting: %d %s", a.code, a.body)
	}

	srv.Restart()
	restarted := time.Now()
	redistest.Eventually(t, 2*time.Second, "ready again", func() bool {
		a, b := get(t, ready)
		return a.code == http.StatusOK && b.State == "ready"
	})
	t.Logf("readiness 200 again %v after the restart", time.Since(restarted).Round(time.Millisecond))
}

func TestReadinessAndTheBreaker(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const openTimeout = 200 * time.Millisecond
	c := guarded(t, proxy.Addr(), func(o *redisguard.Options) {
		o.Breaker = breaker.Settings{OpenTimeout: openTimeout}
	})
	ready := health.Readiness(c)
	if err := c.Ping(context.Background()).Err(); err != nil { // dials the pool's connection
		t.Fatal(err)
	}
	guardtest.OpenBreaker(t, c, srv)
	opened := time.Now()

	// Open: answered from the breaker, without a PING.
	requests := proxy.Requests()
	a, body := get(t, ready)
	if a.code != http.StatusServiceUnavailable || body.Error != "circuit breaker open" || body.Breaker != "open" || body.State != "ready" {
		t.Fatalf("readiness while open: %d %s", a.code, a.body)
	}
	a, hb := getHealth(t, ready)
	cb := hb.Checks["redis:circuitBreaker"]
	if a.code != http.StatusServiceUnavailable || hb.Status != "fail" || hb.Output != "circuit breaker open" ||
		len(cb) != 1 || cb[0].Status != "fail" || cb[0].ObservedValue != "open" {
		t.Fatalf("health+json while open: %d %s", a.code, a.body)
	}
	if n := proxy.Requests() - requests; n != 0 {
		t.Fatalf("%d requests reached the server while the breaker was open", n)
	}

	// Half-open: the readiness PINGs are the breaker's probes, and close it
	// after HalfOpenRequests (3) successes, with no other traffic.
	redistest.Eventually(t, 2*time.Second, "half-open", func() bool {
		s, _ := c.Breaker()
		return s.State == breaker.StateHalfOpen
	})
	a, body = get(t, ready)
	if a.code != http.StatusOK || body.Breaker != "half-open" || body.Warning != "circuit breaker half-open" {
		t.Fatalf("readiness, first half-open probe: %d %s", a.code, a.body)
	}
	a, hb = getHealth(t, ready)
	if a.code != http.StatusOK || hb.Status != "warn" || hb.Output != "circuit breaker half-open" ||
		hb.Checks["redis:circuitBreaker"][0].Status != "warn" || hb.Checks["redis:responseTime"][0].Status != "pass" {
		t.Fatalf("health+json, second half-open probe: %d %s", a.code, a.body)
	}
	a, body = get(t, ready)
	if a.code != http.StatusOK || body.Breaker != "closed" || body.Warning != "" {
		t.Fatalf("readiness, third half-open probe: %d %s", a.code, a.body)
	}
	if n := proxy.Requests() - requests; n != 3 {
		t.Fatalf("%d requests reached the server, want the 3 readiness PINGs", n)
	}
	t.Logf("breaker closed by 3 readiness PINGs %v after it opened", time.Since(opened).Round(time.Millisecond))
}

func TestReadinessAgainstAPausedServer(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := guarded(t, proxy.Addr())
	ready := health.Readiness(c, health.Options{Timeout: 100 * time.Millisecond})
	if a, _ := get(t, ready); a.code != http.StatusOK {
		t.Fatalf("readiness before the pause: %d %s", a.code, a.body)
	}
	srv.Stop()
	t.Cleanup(srv.Continue)
	stopped := time.Now()
	timeouts := 0
	for {
		requests := proxy.Requests()
		a, b := get(t, ready)
		if a.code != http.StatusServiceUnavailable {
			t.Fatalf("readiness against a paused server: %d %s", a.code, a.body)
		}
		if b.Error == "circuit breaker open" {
			if n := proxy.Requests() - requests; n != 0 {
				t.Fatalf("the open breaker's answer sent %d requests", n)
			}
			t.Logf("open breaker answered in %v", a.took.Round(time.Microsecond))
			break
		}
		if b.Error != "timeout after 100ms" {
			t.Fatalf("readiness against a paused server: %s in %v", a.body, a.took)
		}
		// Each timed-out PING is judged once its drain has waited out the
		// slow-call threshold, so about twice the failures it takes time
		// out before the breaker opens; a loaded host adds a few.
		if timeouts++; timeouts > 3*breaker.DefaultConsecutiveFailures {
			t.Fatalf("the breaker did not open after %d timed-out readiness PINGs", timeouts)
		}
	}
	if c.State() != redisguard.StateReady {
		t.Fatalf("client %v: the probes' own timeouts moved the supervisor", c.State())
	}
	t.Logf("%d readiness PINGs timed out, then the open breaker answered without one (%v after the pause)",
		timeouts, time.Since(stopped).Round(time.Millisecond))
}
