package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// Past MaxNodeLabels servers, the others' series are folded into
// node="other", whose state gauges count them.
func TestNodeLabelsAreCapped(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg, MaxNodeLabels: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true}})
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
	redistest.Eventually(t, 10*time.Second, "3 nodes ready", func() bool {
		ready := 0
		for _, n := range c.Nodes() {
			if n.State == redisguard.StateReady {
				ready++
			}
		}
		return ready == 3
	})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	var otherReady float64
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			var node, state string
			for _, l := range metric.GetLabel() {
				switch l.GetName() {
				case "node":
					node = l.GetValue()
				case "state":
					state = l.GetValue()
				}
			}
			if node == "" {
				continue
			}
			nodes[node] = true
			if f.GetName() == "redis_client_node_state" && node == "other" && state == "ready" {
				otherReady = metric.GetGauge().GetValue()
			}
		}
	}
	if len(nodes) != 2 || !nodes["other"] || otherReady != 2 {
		t.Fatalf("node label values %v, %v ready in other; want one address and other, 2 ready in it", nodes, otherReady)
	}
	if _, err := metrics.New(metrics.Options{MaxNodeLabels: -1}); err == nil {
		t.Fatal("MaxNodeLabels -1 accepted")
	}
}
