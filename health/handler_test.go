package health_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// clients runs test in parallel against a *redisguard.Client and a plain
// go-redis client, each with a server of its own.
func clients(t *testing.T, test func(t *testing.T, srv *redistest.Server, rdb redis.UniversalClient, isGuarded bool)) {
	t.Run("redisguard", func(t *testing.T) {
		t.Parallel()
		srv := redistest.StartServer(t)
		test(t, srv, guarded(t, srv.Addr()), true)
	})
	t.Run("go-redis", func(t *testing.T) {
		t.Parallel()
		srv := redistest.StartServer(t)
		test(t, srv, plain(t, srv.Addr()), false)
	})
}

func TestHealthyAnswerMeasuresTheRoundTrip(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	for _, isGuarded := range []bool{true, false} {
		t.Run(map[bool]string{true: "redisguard", false: "go-redis"}[isGuarded], func(t *testing.T) {
			t.Parallel()
			proxy := redistest.NewProxy(t, srv.Addr())
			var rdb redis.UniversalClient = plain(t, proxy.Addr())
			if isGuarded {
				rdb = guarded(t, proxy.Addr())
			}
			if err := rdb.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			proxy.Latency(20 * time.Millisecond) // a round trip crosses the proxy twice
			a, b := get(t, health.Handler(rdb))
			if a.code != http.StatusOK || b.Status != "healthy" || b.Error != "" {
				t.Fatalf("answer %d %s, want 200 healthy", a.code, a.body)
			}
			if b.LatencyMS == nil || *b.LatencyMS < 40 || *b.LatencyMS > 1000 {
				t.Fatalf("latency_ms in %s: want the round trip through 2×20 ms of latency", a.body)
			}
			if want := strconv.FormatFloat(*b.LatencyMS, 'f', -1, 64) + "ms"; b.Latency != want {
				t.Fatalf("latency %q, want %q", b.Latency, want)
			}
			t.Logf("latency through the proxy: %s (answered in %v)", b.Latency, a.took.Round(time.Millisecond))
			fields := keys(t, a.body)
			if isGuarded {
				if b.State != "ready" || b.Breaker != "closed" {
					t.Fatalf("state %q, breaker %q in %s; want ready, closed", b.State, b.Breaker, a.body)
				}
			} else if fields["state"] || fields["breaker"] {
				t.Fatalf("a plain go-redis client reports state or breaker: %s", a.body)
			}
			if fields["warning"] || fields["error"] {
				t.Fatalf("healthy answer with a warning or an error: %s", a.body)
			}
		})
	}
}

func TestKilledServerIsUnhealthy(t *testing.T) {
	t.Parallel()
	clients(t, func(t *testing.T, srv *redistest.Server, rdb redis.UniversalClient, isGuarded bool) {
		h := health.Handler(rdb)
		if a, _ := get(t, h); a.code != http.StatusOK {
			t.Fatalf("before the kill: %d %s", a.code, a.body)
		}
		srv.Kill()
		// go-redis dials a dead server again and again (DialerRetries), past
		// the 1 s timeout: its answer may be the timeout.
		safe := map[string]bool{
			"connection refused":          true,
			"connection reset by peer":    true,
			"connection closed by server": true,
			"timeout after 1s":            !isGuarded,
		}
		var seen []string
		for range 3 {
			a, b := get(t, h)
			if a.code != http.StatusServiceUnavailable || b.Status != "unhealthy" || !safe[b.Error] && !(isGuarded && reconnecting(b.Error)) {
				t.Fatalf("answer %d %s, want 503 with a known error", a.code, a.body)
			}
			if a.took > health.DefaultTimeout+250*time.Millisecond {
				t.Fatalf("answered in %v", a.took)
			}
			seen = append(seen, b.Error)
		}
		t.Logf("errors: %q", seen)
		if !isGuarded {
			return
		}
		// The client noticed: answered from its state, without a PING.
		redistest.Eventually(t, 2*time.Second, "answering from the state", func() bool {
			a, b := get(t, h)
			return reconnecting(b.Error) && b.State == "reconnecting" && a.took < 50*time.Millisecond
		})
	})
}

func TestPausedServerAnswersWithinTheTimeout(t *testing.T) {
	t.Parallel()
	clients(t, func(t *testing.T, srv *redistest.Server, rdb redis.UniversalClient, isGuarded bool) {
		h := health.Handler(rdb, health.Options{Timeout: 300 * time.Millisecond})
		if a, _ := get(t, h); a.code != http.StatusOK {
			t.Fatalf("before the pause: %d %s", a.code, a.body)
		}
		srv.Stop()
		t.Cleanup(srv.Continue)
		for range 3 {
			a, b := get(t, h)
			if a.code != http.StatusServiceUnavailable || b.Error != "timeout after 300ms" {
				t.Fatalf("answer %d %s, want 503 timeout after 300ms", a.code, a.body)
			}
			if a.took < 300*time.Millisecond || a.took > 550*time.Millisecond {
				t.Fatalf("answered in %v, want 300 ms plus at most 250", a.took)
			}
			t.Logf("503 after %v", a.took.Round(time.Millisecond))
		}
	})
}

func TestClientIgnoringContextsCannotHangTheProbe(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	// No ContextTimeoutEnabled: go-redis waits ReadTimeout, whatever the context.
	const readTimeout = 5 * time.Second
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: readTimeout})
	t.Cleanup(func() { _ = rdb.Close() })
	h := health.Handler(rdb, health.Options{Timeout: 200 * time.Millisecond})
	if a, _ := get(t, h); a.code != http.StatusOK {
		t.Fatalf("before the pause: %d %s", a.code, a.body)
	}
	srv.Stop()
	t.Cleanup(srv.Continue) // lets the abandoned PING finish
	a, b := get(t, h)
	if a.code != http.StatusServiceUnavailable || b.Error != "timeout after 200ms" {
		t.Fatalf("answer %d %s, want 503 timeout after 200ms", a.code, a.body)
	}
	// The bound is loose: what matters is that the answer does not wait for
	// the ReadTimeout.
	if a.took > readTimeout/4 {
		t.Fatalf("answered in %v", a.took)
	}
	t.Logf("503 after %v while the PING waits for its %v ReadTimeout", a.took.Round(time.Millisecond), readTimeout)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := health.Check(ctx, rdb)
	if took := time.Since(start); took > readTimeout/4 {
		t.Fatalf("Check took %v with a 150 ms context", took)
	}
	if res.Status != health.StatusUnhealthy || res.Message() != "timeout after 150ms" {
		t.Fatalf("Check: %s %q (%v)", res.Status, res.Message(), res.Err)
	}
}

func TestZeroTimeoutMeansTheDefault(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := plain(t, srv.Addr())
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	t.Cleanup(srv.Continue)
	opts := map[string][]health.Options{
		"none": nil,
		"zero": {{}},
	}
	for name, o := range opts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := get(t, health.Handler(rdb, o...))
			if a.code != http.StatusServiceUnavailable || b.Error != "timeout after 1s" {
				t.Fatalf("answer %d %s, want 503 timeout after 1s", a.code, a.body)
			}
			if a.took < health.DefaultTimeout || a.took > health.DefaultTimeout+250*time.Millisecond {
				t.Fatalf("answered in %v", a.took)
			}
		})
	}
}

func TestInvalidOptionsNameTheField(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { rdb.Close() })
	for _, tc := range []struct {
		opts  []health.Options
		field string
	}{
		{[]health.Options{{Timeout: -time.Second}}, "Timeout"},
		{[]health.Options{{WarnLatency: -time.Second}}, "WarnLatency"},
		{[]health.Options{{}, {}}, ""},
	} {
		for fn, newHandler := range map[string]func(redis.UniversalClient, ...health.Options) (http.Handler, error){
			"NewHandler":   health.NewHandler,
			"NewReadiness": health.NewReadiness,
		} {
			h, err := newHandler(rdb, tc.opts...)
			var oe *health.OptionError
			switch {
			case h != nil || err == nil:
				t.Errorf("%s(%+v): %v, %v; want an error", fn, tc.opts, h, err)
			case tc.field != "" && (!errors.As(err, &oe) || oe.Field != tc.field):
				t.Errorf("%s(%+v): %v; want an *OptionError naming %s", fn, tc.opts, err, tc.field)
			}
		}
		// Handler has no error to return: every request gets a 500 saying why.
		if a, b := get(t, health.Handler(rdb, tc.opts...)); a.code != http.StatusInternalServerError || b.Error == "" {
			t.Errorf("Handler(%+v): answer %d %s, want 500", tc.opts, a.code, a.body)
		}
	}
}

func TestRequestThatEndsStopsWaitingForTheSharedPing(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := guarded(t, proxy.Addr())
	h := health.Handler(c, health.Options{Timeout: time.Second})
	srv.Stop()
	t.Cleanup(srv.Continue)
	requests := proxy.Requests()

	patient := make(chan answer, 1)
	go func() { patient <- request(h, http.MethodGet, "") }()
	time.Sleep(50 * time.Millisecond) // the patient request started the PING
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	a := requestCtx(ctx, h, http.MethodGet, "")
	if a.code != http.StatusServiceUnavailable || !strings.Contains(string(a.body), `"error":"timeout"`) {
		t.Fatalf("request whose context ended: %d %s, want 503 timeout", a.code, a.body)
	}
	if a.took > 600*time.Millisecond { // well before the shared PING's 1 s
		t.Fatalf("the request whose context ended waited %v", a.took)
	}
	p := <-patient
	if p.code != http.StatusServiceUnavailable || !strings.Contains(string(p.body), `"error":"timeout after 1s"`) {
		t.Fatalf("patient request: %d %s, want 503 timeout after 1s: the shared PING ran to its own timeout", p.code, p.body)
	}
	if n := proxy.Requests() - requests; n != 1 {
		t.Fatalf("%d PINGs reached the server for two requests, want 1", n)
	}
}

func TestUnusualClients(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	t.Run("breaker disabled", func(t *testing.T) {
		t.Parallel()
		c := guarded(t, srv.Addr(), func(o *redisguard.Options) { o.DisableBreaker = true })
		a, b := get(t, health.Handler(c))
		if a.code != http.StatusOK || b.State != "ready" || keys(t, a.body)["breaker"] {
			t.Fatalf("answer %d %s, want 200 with a state and no breaker", a.code, a.body)
		}
	})
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		c := guarded(t, srv.Addr())
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		for _, h := range []http.Handler{health.Handler(c), health.Liveness(c)} {
			a, b := get(t, h)
			if a.code != http.StatusServiceUnavailable || b.Error != "client closed" || b.State != "closed" {
				t.Fatalf("answer %d %s, want 503 client closed", a.code, a.body)
			}
		}
	})
}
