package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// liveAnswers records the liveness answers given from the client's hooks.
type liveAnswers struct {
	mu      sync.Mutex
	h       http.Handler
	answers []string // "code state"
	ended   chan struct{}
}

// record asks for liveness. It runs on the client's supervisor goroutine,
// where the test must not fail with t.Fatal.
func (l *liveAnswers) record(t testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := request(l.h, http.MethodGet, "")
	var b body
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Errorf("liveness body %q: %v", a.body, err)
	}
	l.answers = append(l.answers, http.StatusText(a.code)+" "+b.State)
}

func TestLivenessFailsOnlyWhenTheClientGivesUp(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	live := &liveAnswers{ended: make(chan struct{})}
	c := guarded(t, srv.Addr(), func(o *redisguard.Options) {
		o.Reconnect = redisguard.ExponentialBackoff{Base: 10 * time.Millisecond, Max: 20 * time.Millisecond, MaxRetries: 3}
		o.Hooks = redisguard.Hooks{
			// Runs on the supervisor while the client is reconnecting.
			OnReconnecting: func(int, time.Duration) { live.record(t) },
			OnEnd:          func(error) { close(live.ended) },
		}
	})
	live.mu.Lock()
	live.h = health.Liveness(c)
	live.mu.Unlock()
	ready := health.Readiness(c)

	if a, b := get(t, live.h); a.code != http.StatusOK || b.State != "ready" || b.Warning != "" {
		t.Fatalf("liveness while ready: %d %s", a.code, a.body)
	}
	srv.Kill()
	killed := time.Now()
	if a, _ := get(t, ready); a.code != http.StatusServiceUnavailable {
		t.Fatalf("readiness after the kill: %d %s", a.code, a.body)
	}
	select {
	case <-live.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not give up within 5s")
	}
	live.mu.Lock()
	answers := live.answers
	live.mu.Unlock()
	if len(answers) != 3 {
		t.Fatalf("liveness answers while reconnecting: %q, want 3", answers)
	}
	for _, got := range answers {
		if got != "OK reconnecting" {
			t.Fatalf("liveness answers while reconnecting: %q, want OK reconnecting", answers)
		}
	}
	a, b := get(t, live.h)
	if a.code != http.StatusServiceUnavailable || b.State != "closed" || b.Error != "client closed: reconnect retries exhausted: connection refused" {
		t.Fatalf("liveness after the client gave up: %d %s", a.code, a.body)
	}
	t.Logf("liveness: 200 through %d reconnect attempts, 503 %v after the kill", len(answers), time.Since(killed).Round(time.Millisecond))
	if a, b := get(t, ready); a.code != http.StatusServiceUnavailable || b.Error != "client closed: reconnect retries exhausted: connection refused" {
		t.Fatalf("readiness after the client gave up: %d %s", a.code, a.body)
	}
	// Redis coming back does not revive a closed client: only a restart does.
	srv.Restart()
	if a, _ := get(t, live.h); a.code != http.StatusServiceUnavailable {
		t.Fatalf("liveness after Redis came back: %d %s", a.code, a.body)
	}
}

func TestLivenessPassesWhileTheClientReconnects(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())
	h := health.Liveness(c)
	srv.Kill()
	_ = c.Ping(context.Background()).Err() // the client notices
	for range 20 {
		a, b := get(t, h)
		if a.code != http.StatusOK || b.State != "reconnecting" || !reconnecting(b.Warning) {
			t.Fatalf("liveness while reconnecting: %d %s", a.code, a.body)
		}
		if keys(t, a.body)["latency_ms"] {
			t.Fatalf("liveness reports a latency: %s", a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Restart()
	redistest.Eventually(t, 2*time.Second, "ready", func() bool { return c.State() == redisguard.StateReady })
	if a, b := get(t, h); a.code != http.StatusOK || b.State != "ready" || b.Warning != "" {
		t.Fatalf("liveness after the restart: %d %s", a.code, a.body)
	}
}

func TestLivenessPassesWhileTheFirstConnectionIsMade(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	srv.Kill() // nothing listens on its port
	c, err := redisguard.New(redisguard.Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: fastReconnect,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, b := get(t, health.Liveness(c))
	if a.code != http.StatusOK || (b.State != "connecting" && b.State != "reconnecting") {
		t.Fatalf("liveness before the first connection: %d %s", a.code, a.body)
	}
	if a, b := get(t, health.Readiness(c)); a.code != http.StatusServiceUnavailable || b.Error == "" {
		t.Fatalf("readiness before the first connection: %d %s", a.code, a.body)
	}
}
