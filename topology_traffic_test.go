package redisguard

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// topologyCalls returns, per server, how many CLUSTER subcommands (SLOTS,
// SHARDS, NODES, …) it has served, from INFO commandstats.
func topologyCalls(t *testing.T, servers []*redistest.Server) map[string]int {
	t.Helper()
	calls := make(map[string]int)
	for _, srv := range servers {
		info, err := srv.Client(t).Info(context.Background(), "commandstats").Result()
		if err != nil {
			t.Fatalf("%s: %v", srv.Addr(), err)
		}
		for line := range strings.Lines(info) {
			name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || !strings.HasPrefix(name, "cmdstat_cluster|") || name == "cmdstat_cluster|info" {
				continue
			}
			for f := range strings.SplitSeq(stats, ",") {
				if v, ok := strings.CutPrefix(f, "calls="); ok {
					n, _ := strconv.Atoi(v)
					calls[srv.Addr()] += n
				}
			}
		}
	}
	return calls
}

// topologyRate sums up the topology commands served between two readings:
// per second, and the busiest server's share.
func topologyRate(before, after map[string]int, d time.Duration) (perSecond, busiestShare float64) {
	total, busiest := 0, 0
	for addr, n := range after {
		delta := n - before[addr]
		total += delta
		busiest = max(busiest, delta)
	}
	if total == 0 {
		return 0, 0
	}
	return float64(total) / d.Seconds(), float64(busiest) / float64(total)
}

// A 12-master cluster without replicas with one master down: the topology
// commands one guarded client sends stay within the documented bound, spread
// over the live nodes; then a plain go-redis ClusterClient under the same
// load, with the master still down, for the figure it is compared with. The
// master stays down 30 s, or 60 s with REDISGUARD_SOAK=1.
func TestClusterTopologyTrafficWhileANodeIsDown(t *testing.T) {
	settle, steady, plainWindow := 10*time.Second, 20*time.Second, 5*time.Second
	if os.Getenv("REDISGUARD_SOAK") == "1" {
		steady, plainWindow = 50*time.Second, 20*time.Second
	}
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 12})
	keys := cl.KeysOnEveryShard(1)
	victim := cl.Masters()[0]
	var live []*redistest.Server
	for _, m := range cl.Masters() {
		if m != victim {
			live = append(live, m)
		}
	}
	load := redistest.LoadConfig{Keys: keys.All(), Goroutines: 12, Pause: 10 * time.Millisecond}
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true}})
	guarded := redistest.StartLoad(t, c, load)
	time.Sleep(time.Second)

	up := topologyCalls(t, live)
	time.Sleep(5 * time.Second)
	upRate, _ := topologyRate(up, topologyCalls(t, live), 5*time.Second)

	victim.Kill()
	start := topologyCalls(t, live)
	time.Sleep(settle)
	mid := topologyCalls(t, live)
	time.Sleep(steady)
	end := topologyCalls(t, live)
	firstRate, firstShare := topologyRate(start, mid, settle)
	steadyRate, steadyShare := topologyRate(mid, end, steady)
	t.Logf("all up: %.2f topology commands/s; one master down: %.2f/s in the first %v (busiest node %.0f%%), %.2f/s over the next %v (busiest node %.0f%%); 1,000 clients: %.0f/s, the busiest node %.0f/s",
		upRate, firstRate, settle, 100*firstShare, steadyRate, steady, 100*steadyShare, 1000*steadyRate, 1000*steadyRate*steadyShare)

	// The plain client alone, the master still down: what go-redis itself
	// sends, after its first slot map.
	guarded.Stop()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	plain := cl.Client(t)
	redistest.StartLoad(t, plain, load)
	time.Sleep(2 * time.Second)
	plainStart := topologyCalls(t, live)
	time.Sleep(plainWindow)
	plainRate, plainShare := topologyRate(plainStart, topologyCalls(t, live), plainWindow)
	t.Logf("plain go-redis, the master still down: %.2f topology commands/s over %v (busiest node %.0f%%)", plainRate, plainWindow, 100*plainShare)

	// The bound: CLUSTER SLOTS and CLUSTER NODES every watchMax or so, and
	// a CLUSTER SLOTS per reconnect attempt (every 3 s on the default
	// schedule), each less by the jitter.
	bound := 2/(watchMax.Seconds()*(1-watchJitter)) + 1/(3*(1-0.1)) + upRate
	if steadyRate > bound {
		t.Errorf("%.2f topology commands/s per client while one master is down, want at most %.2f", steadyRate, bound)
	}
	if steadyShare > 0.5 {
		t.Errorf("the busiest node served %.0f%% of the topology commands, want them spread", 100*steadyShare)
	}
}
