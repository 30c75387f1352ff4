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
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/guardtest"
	"github.com/redisguard/redisguard/internal/redistest"
)

// nodeChecks returns the health+json entries of a check that name node.
func nodeChecks(b healthBody, name, node string) []healthCheck {
	var out []healthCheck
	for _, c := range b.Checks[name] {
		if c.ComponentID == node {
			out = append(out, c)
		}
	}
	return out
}

// guardedCluster starts a cluster of three masters without replicas, so that
// a dead master stays in the slot map, and returns its masters in the order
// of their slots and a ready client of the cluster. edit, if given, adjusts
// the client's options first.
func guardedCluster(t *testing.T, edit ...func(*redisguard.Options)) ([]*redistest.Server, *redisguard.Client) {
	t.Helper()
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	c := guarded(t, cl.Addrs()[0], func(o *redisguard.Options) {
		o.Redis = &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true}
		for _, e := range edit {
			e(o)
		}
	})
	return cl.Masters(), c
}

func TestClusterReadinessNamesTheNodesThatAreDown(t *testing.T) {
	t.Parallel()
	masters, c := guardedCluster(t, func(o *redisguard.Options) {
		o.Breaker = breaker.Settings{OpenTimeout: time.Hour}
	})
	ready, live := health.Readiness(c), health.Liveness(c)
	ctx := context.Background()
	m0, m1, m2 := masters[0].Addr(), masters[1].Addr(), masters[2].Addr()

	a, b := get(t, ready)
	if a.code != http.StatusOK || b.Status != "healthy" || b.State != "ready" || b.Warning != "" ||
		len(b.Nodes) != 3 || b.Nodes[m0] != "ready" || b.Nodes[m1] != "ready" || b.Nodes[m2] != "ready" {
		t.Fatalf("readiness of a healthy cluster: %d %s", a.code, a.body)
	}
	a, hb := getHealth(t, ready)
	if a.code != http.StatusOK || hb.Status != "pass" || len(hb.Checks["redis:connection"]) != 4 ||
		len(hb.Checks["redis:responseTime"]) != 4 || len(hb.Checks["redis:circuitBreaker"]) != 3 {
		t.Fatalf("health+json of a healthy cluster: %d %s", a.code, a.body)
	}
	if rt := nodeChecks(hb, "redis:responseTime", m1); len(rt) != 1 || rt[0].Status != "pass" || rt[0].ObservedUnit != "ms" {
		t.Fatalf("health+json: %s's response time %+v", m1, rt)
	}

	// One master dies: the client serves the other two; readiness stays 200
	// and names the dead one.
	masters[1].Kill()
	killed := time.Now()
	redistest.Eventually(t, 10*time.Second, "the dead master named", func() bool {
		a, b := get(t, ready)
		if a.code != http.StatusOK {
			t.Fatalf("readiness with one master dead: %d %s", a.code, a.body)
		}
		return strings.HasPrefix(b.Nodes[m1], "reconnecting")
	})
	a, b = get(t, ready)
	if b.Status != "healthy" || b.State != "ready" || b.Nodes[m0] != "ready" || b.Nodes[m2] != "ready" ||
		!oneOf(b.Nodes[m1], []string{"reconnecting (connection refused)", "reconnecting (connection reset by peer)", "reconnecting (connection closed by server)"}) ||
		b.Warning != m1+" "+b.Nodes[m1] {
		t.Fatalf("readiness with one master dead: %d %s", a.code, a.body)
	}
	t.Logf("one master dead, named %v after the kill: %s", time.Since(killed).Round(time.Millisecond), a.body)
	a, hb = getHealth(t, ready)
	conn := nodeChecks(hb, "redis:connection", m1)
	if a.code != http.StatusOK || hb.Status != "warn" || !strings.Contains(hb.Output, m1) || len(conn) != 1 ||
		conn[0].Status != "warn" || conn[0].ObservedValue != "reconnecting" || !oneOf(conn[0].Output, lostServer) {
		t.Fatalf("health+json with one master dead: %d %s", a.code, a.body)
	}
	for _, m := range []string{m0, m2} {
		if conn := nodeChecks(hb, "redis:connection", m); len(conn) != 1 || conn[0].Status != "pass" {
			t.Fatalf("health+json: a live master %s is reported %+v", m, conn)
		}
	}
	res := health.Check(ctx, c)
	if res.Status != health.StatusHealthy || len(res.Nodes) != 3 {
		t.Fatalf("Check with one master dead: %+v", res)
	}
	for _, n := range res.Nodes {
		dead := n.Addr == m1
		if dead != (n.State != redisguard.StateReady) || dead != (n.Err != nil) || dead != (n.Latency == 0) {
			t.Fatalf("Check: node %+v", n)
		}
		if dead && (!errors.Is(n.Err, redisguard.ErrNotReady) || !reconnecting(n.Message()) || n.Message() == "client not ready (reconnecting)") {
			t.Fatalf("Check: the dead node's error %v (%q)", n.Err, n.Message())
		}
	}
	if a, b := get(t, live); a.code != http.StatusOK || b.Warning != "" {
		t.Fatalf("liveness with one master dead: %d %s", a.code, a.body)
	}

	// Another master's breaker opens: a warning too, while the third serves.
	guardtest.OpenBreaker(t, c, masters[2], keysOf(100)...)
	a, b = get(t, ready)
	if a.code != http.StatusOK || b.Status != "healthy" || b.Nodes[m2] != "ready (circuit breaker open)" ||
		!strings.Contains(b.Warning, m2+" ready (circuit breaker open)") || !strings.Contains(b.Warning, m1) {
		t.Fatalf("readiness with one master dead and one breaker open: %d %s", a.code, a.body)
	}
	a, hb = getHealth(t, ready)
	if cb := nodeChecks(hb, "redis:circuitBreaker", m2); a.code != http.StatusOK || len(cb) != 1 || cb[0].Status != "warn" || cb[0].ObservedValue != "open" {
		t.Fatalf("health+json with one breaker open: %d %s", a.code, a.body)
	}

	// The last master that served dies: no node serves, 503.
	masters[0].Kill()
	redistest.Eventually(t, 10*time.Second, "503 once no node serves", func() bool {
		return request(ready, http.MethodGet, "").code == http.StatusServiceUnavailable
	})
	a, b = get(t, ready)
	reason, _ := strings.CutPrefix(b.Error, "no node answered: ")
	if b.Status != "unhealthy" || !oneOf(reason, append([]string{"circuit breaker open"}, lostServer...)) ||
		!strings.HasPrefix(b.Nodes[m0], "reconnecting") || !strings.HasPrefix(b.Nodes[m1], "reconnecting") {
		t.Fatalf("readiness with no node serving: %d %s", a.code, a.body)
	}
	t.Logf("no node serving: %s", a.body)
	if a := request(health.Readiness(c, health.Options{Optional: true}), http.MethodGet, ""); a.code != http.StatusOK {
		t.Fatalf("optional readiness with no node serving: %d %s", a.code, a.body)
	}

	masters[0].Restart()
	masters[1].Restart()
	restarted := time.Now()
	redistest.Eventually(t, 15*time.Second, "200 again", func() bool {
		a, b := get(t, ready)
		return a.code == http.StatusOK && b.Nodes[m0] == "ready" && b.Nodes[m1] == "ready"
	})
	t.Logf("200 with both masters ready %v after their restart: %s", time.Since(restarted).Round(time.Millisecond), request(ready, http.MethodGet, "").body)
}

func TestClusterReadinessWithAPausedNode(t *testing.T) {
	t.Parallel()
	masters, c := guardedCluster(t)
	const timeout = 200 * time.Millisecond
	ready := health.Readiness(c, health.Options{Timeout: timeout})
	if a, b := get(t, ready); a.code != http.StatusOK || b.Warning != "" {
		t.Fatalf("before the pause: %d %s", a.code, a.body)
	}
	paused := masters[2].Addr()
	masters[2].Stop()
	t.Cleanup(masters[2].Continue)

	// The paused node's PING times out, or, once timeouts opened its breaker,
	// is refused by it; the others answer, and so does readiness, in time.
	var slowest time.Duration
	seen := map[string]int{}
	for range 8 {
		a, b := get(t, ready)
		slowest = max(slowest, a.took)
		seen[b.Nodes[paused]]++
		if a.code != http.StatusOK || a.took > timeout+time.Second ||
			!oneOf(b.Nodes[paused], []string{"ready (timeout after 200ms)", "ready (circuit breaker open)", "reconnecting (timeout)"}) ||
			b.Warning != paused+" "+b.Nodes[paused] {
			t.Fatalf("readiness with a paused node, in %v: %d %s", a.took, a.code, a.body)
		}
		for _, m := range masters[:2] {
			if b.Nodes[m.Addr()] != "ready" {
				t.Fatalf("a live node is reported %q: %s", b.Nodes[m.Addr()], a.body)
			}
		}
	}
	t.Logf("8 answers 200 with a paused node, the slowest in %v: %v", slowest.Round(time.Millisecond), seen)
}

// keysOf returns n keys, which the cluster spreads over its masters.
func keysOf(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	return keys
}
