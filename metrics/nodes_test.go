package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/guardtest"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// instrumented returns a registry and the client opts describe, instrumented
// before its first connection and ready.
func instrumented(t *testing.T, opts redisguard.Options) (*prometheus.Registry, *redisguard.Client) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	opts.Reconnect = redisguard.ExponentialBackoff{MaxRetries: -1}
	c, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := m.Instrument(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return reg, c
}

func TestClusterMetricsPerNode(t *testing.T) {
	t.Parallel()
	// A master killed is replaced by its replica about 3 s later (the
	// cluster's node timeout of 2 s, and a second).
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
	masters := cl.Masters()
	reg, c := instrumented(t, redisguard.Options{
		Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true},
	})
	ctx := context.Background()
	shardKeys := cl.KeysOnEveryShard(1)
	var keys []string // keys[i] is served by masters[i]
	for _, m := range masters {
		keys = append(keys, shardKeys[m][0])
	}
	for _, k := range keys {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	g := gather(t, reg)
	for _, n := range masters {
		node := "node=" + n.Addr()
		if g.value("redis_client_node_state", node, "state=ready") != 1 || g.value("redis_client_node_state", node, "state=reconnecting") != 0 ||
			g.value("redis_breaker_state", node, "state=closed") != 1 || g.value("redis_client_reconnect_attempts_total", node) != 0 {
			t.Fatalf("%s before the kill: state %v, breaker closed %v, attempts %v", n.Addr(), g.value("redis_client_node_state", node, "state=ready"),
				g.value("redis_breaker_state", node, "state=closed"), g.value("redis_client_reconnect_attempts_total", node))
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	dead, heir := masters[0], cl.ReplicaOf(masters[0])
	deadNode := "node=" + dead.Addr()
	dead.Kill()
	killed := time.Now()
	redistest.Eventually(t, 10*time.Second, "the dead master reconnecting", func() bool {
		_ = c.Get(ctx, keys[0]).Err() // the client notices
		return gather(t, reg).value("redis_client_node_state", deadNode, "state=reconnecting") == 1
	})
	t.Logf("the dead master shown reconnecting %v after the kill", time.Since(killed).Round(time.Millisecond))
	if err := c.Get(ctx, keys[0]).Err(); !errors.Is(err, redisguard.ErrNotReady) {
		t.Fatalf("GET on the dead shard: %v, want ErrNotReady", err)
	}
	for _, k := range keys[1:] {
		if err := c.Get(ctx, k).Err(); err != nil {
			t.Fatalf("GET on a live shard: %v", err)
		}
	}
	g = gather(t, reg)
	if g.value("redis_client_state", "state=ready") != 1 {
		t.Fatal("the client is not ready while two shards serve")
	}
	for _, n := range masters[1:] {
		node := "node=" + n.Addr()
		if g.value("redis_client_node_state", node, "state=ready") != 1 || g.value("redis_client_reconnect_attempts_total", node) != 0 {
			t.Fatalf("live master %s: ready %v, attempts %v", n.Addr(), g.value("redis_client_node_state", node, "state=ready"), g.value("redis_client_reconnect_attempts_total", node))
		}
	}
	if g.value("redis_client_reconnect_attempts_total", deadNode) < 1 {
		t.Fatal("no reconnect attempt counted for the dead master")
	}
	if g.value("redis_client_refused_total", "reason=not_ready") < 1 {
		t.Fatal("the refusal of the dead shard's GET was not counted as not_ready")
	}

	// The replica takes over; once the slot map no longer names the dead
	// master, the client drops it, and its series go with it.
	redistest.Eventually(t, 30*time.Second, "the dead master's series deleted", func() bool {
		g := gather(t, reg)
		return g.metric("redis_client_node_state", deadNode) == nil && g.metric("redis_breaker_state", deadNode) == nil &&
			g.metric("redis_client_reconnect_attempts_total", deadNode) == nil
	})
	t.Logf("the dead master's series deleted %v after the kill", time.Since(killed).Round(time.Millisecond))
	redistest.Eventually(t, 10*time.Second, "the promoted replica serves", func() bool {
		return c.Set(ctx, keys[0], "again", 0).Err() == nil
	})
	g = gather(t, reg)
	if g.value("redis_client_node_state", "node="+heir.Addr(), "state=ready") != 1 || g.value("redis_breaker_state", "node="+heir.Addr(), "state=closed") != 1 {
		t.Fatalf("the promoted replica %s is not shown ready with a closed breaker; the client's nodes: %+v", heir.Addr(), c.Nodes())
	}
	for _, name := range []string{"redis_client_node_state", "redis_breaker_state", "redis_client_reconnect_attempts_total", "redis_breaker_transitions_total"} {
		for _, s := range g[name].GetMetric() {
			if hasLabels(s, []string{deadNode}) {
				t.Fatalf("%s still has a series of the removed node: %v", name, s.GetLabel())
			}
		}
	}
}

func TestSentinelFailoverLeavesNoStaleBreaker(t *testing.T) {
	t.Parallel()
	master := redistest.StartServer(t)
	replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()))
	sentinel := redistest.StartSentinel(t, "mymaster", master)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr()})
	t.Cleanup(func() { _ = sc.Close() })
	ctx := context.Background()
	redistest.Eventually(t, 10*time.Second, "the sentinel sees the replica", func() bool {
		replicas, err := sc.Replicas(ctx, "mymaster").Result()
		return err == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave" && replicas[0]["master-link-status"] == "ok"
	})
	reg, c := instrumented(t, redisguard.Options{
		Redis:   &redis.UniversalOptions{MasterName: "mymaster", Addrs: []string{sentinel.Addr()}},
		Breaker: breaker.Settings{OpenTimeout: time.Hour},
	})
	oldNode, newNode := "node="+master.Addr(), "node="+replica.Addr()

	guardtest.OpenBreaker(t, c, master)
	g := gather(t, reg)
	if g.value("redis_breaker_state", oldNode, "state=open") != 1 || g.value("redis_breaker_transitions_total", oldNode, "from=closed", "to=open") != 1 {
		t.Fatalf("the old master's breaker is not shown open: state %v, transitions %v",
			g.value("redis_breaker_state", oldNode, "state=open"), g.value("redis_breaker_transitions_total", oldNode, "from=closed", "to=open"))
	}

	if err := sc.Failover(ctx, "mymaster").Err(); err != nil {
		t.Fatal(err)
	}
	failover := time.Now()
	redistest.Eventually(t, 30*time.Second, "the new master's breaker shown, the old one's gone", func() bool {
		g := gather(t, reg)
		return g.value("redis_breaker_state", newNode, "state=closed") == 1 && g.metric("redis_breaker_state", oldNode) == nil &&
			g.value("redis_client_node_state", newNode, "state=ready") == 1
	})
	t.Logf("the new master's closed breaker shown, the old one's gone, %v after SENTINEL FAILOVER", time.Since(failover).Round(time.Millisecond))
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET on the new master: %v", err)
	}
	g = gather(t, reg)
	for _, name := range []string{"redis_client_node_state", "redis_breaker_state", "redis_client_reconnect_attempts_total", "redis_breaker_transitions_total"} {
		for _, s := range g[name].GetMetric() {
			if hasLabels(s, []string{oldNode}) {
				t.Fatalf("%s still has a series of the old master: %v", name, s.GetLabel())
			}
		}
	}
	if g.value("redis_client_node_state", newNode, "state=ready") != 1 || g.value("redis_breaker_state", newNode, "state=open") != 0 {
		t.Fatal("the new master is not shown ready with a closed breaker")
	}
}
