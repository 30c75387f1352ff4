package redisguard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A replica killed and replaced by a new node (a new address and node id, as
// a rescheduled pod gets) leaves Nodes() and the metrics (OnNodeRemoved) and
// its successor is listed, ready, soon after the cluster's own slot map says
// so. Then a replica reset into a new node id on the same address, as a
// replica whose disk was wiped rejoins, is listed once and ready again.
func TestClusterReplacedReplicaLeavesNodes(t *testing.T) {
	const nodeTimeout = 2 * time.Second
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: nodeTimeout})
	keys := cl.KeysOnEveryShard(2)
	var mu sync.Mutex
	removed := make(map[string]time.Time)
	// go-redis reloads its slot map every ClusterStateReloadInterval (60 s
	// by default) while commands flow: a node that joins is known from then.
	const reload = 5 * time.Second
	c := newTestClient(t, Options{
		Cluster: &redis.ClusterOptions{Addrs: cl.Addrs(), ClusterStateReloadInterval: reload},
		Hooks: Hooks{OnNodeRemoved: func(addr string) {
			mu.Lock()
			removed[addr] = time.Now()
			mu.Unlock()
		}},
	})
	redistest.StartLoad(t, c, redistest.LoadConfig{Keys: keys.All(), Goroutines: len(keys.All())})
	// A plain go-redis client side by side: when it made a client for a node.
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ClusterStateReloadInterval: reload})
	t.Cleanup(func() { _ = plain.Close() })
	plainNew := make(map[string]time.Time)
	plain.OnNewNode(func(rdb *redis.Client) {
		mu.Lock()
		plainNew[rdb.Options().Addr] = time.Now()
		mu.Unlock()
	})
	redistest.StartLoad(t, plain, redistest.LoadConfig{Keys: keys.All(), Goroutines: len(keys.All())})
	ctx := context.Background()

	// listed reports how often addr is in Nodes(), and whether it is ready.
	listed := func(addr string) (times int, ready bool) {
		for _, s := range c.Nodes() {
			if s.Addr == addr {
				times++
				ready = s.State == StateReady
			}
		}
		return times, ready
	}
	// named reports whether a live node's CLUSTER SLOTS names addr: the
	// cluster's own view, which a plain go-redis client loads.
	named := func(asked *redistest.Server, addr string) bool {
		//lint:ignore SA1019 CLUSTER SLOTS is what go-redis itself loads its slot map from.
		slots, err := asked.Client(t).ClusterSlots(ctx).Result()
		if err != nil {
			return false
		}
		for _, s := range slots {
			for _, n := range s.Nodes {
				if n.Addr == addr {
					return true
				}
			}
		}
		return false
	}

	master := cl.Masters()[0]
	old := cl.ReplicaOf(master)
	oldID, masterID := cl.NodeID(old), cl.NodeID(master)
	// The first slot map may leave out a replica the cluster has not yet
	// heard the replication offset of; it is listed once a map names it.
	redistest.Eventually(t, 30*time.Second, "every node of the cluster listed, ready", func() bool {
		for _, n := range cl.Nodes() {
			if times, ready := listed(n.Addr()); times != 1 || !ready {
				return false
			}
		}
		return true
	})

	// Replaced: killed, forgotten by every node, a new one in its place.
	old.Kill()
	killed := time.Now()
	for _, n := range cl.Nodes() {
		if n != old {
			if err := n.Client(t).ClusterForget(ctx, oldID).Err(); err != nil {
				t.Fatalf("CLUSTER FORGET on %s: %v", n.Addr(), err)
			}
		}
	}
	fresh := redistest.StartServer(t, "cluster-enabled yes", "cluster-config-file nodes.conf",
		fmt.Sprintf("cluster-node-timeout %d", nodeTimeout.Milliseconds()), "repl-diskless-sync-delay 0")
	join(t, fresh, master, masterID)
	redistest.Eventually(t, 30*time.Second, "the cluster's slot map naming the new replica, not the old", func() bool {
		return named(master, fresh.Addr()) && !named(master, old.Addr())
	})
	clusterAt := time.Now()
	redistest.Eventually(t, 30*time.Second, "Nodes() without the old replica, with the new one ready", func() bool {
		n, _ := listed(old.Addr())
		m, ready := listed(fresh.Addr())
		return n == 0 && m == 1 && ready
	})
	guardAt := time.Now()
	mu.Lock()
	removedAt, ok := removed[old.Addr()]
	mu.Unlock()
	if !ok {
		t.Errorf("no OnNodeRemoved for the old replica %s: its series stay in the metrics", old.Addr())
	}
	redistest.Eventually(t, 30*time.Second, "plain go-redis with a client for the new replica", func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, ok := plainNew[fresh.Addr()]
		return ok
	})
	mu.Lock()
	plainAt := plainNew[fresh.Addr()]
	mu.Unlock()
	t.Logf("replaced replica: the old one left Nodes() (OnNodeRemoved) %v after the kill; the cluster's slot map named the new one %v after the kill, Nodes() listed it ready %v later (plain go-redis made its client %v later)",
		removedAt.Sub(killed).Round(10*time.Millisecond), clusterAt.Sub(killed).Round(10*time.Millisecond),
		guardAt.Sub(clusterAt).Round(10*time.Millisecond), plainAt.Sub(clusterAt).Round(10*time.Millisecond))
	if lag := guardAt.Sub(clusterAt); lag > 2*reload+watchMax {
		t.Errorf("Nodes() followed the cluster's slot map %v late, want at most %v", lag, 2*reload+watchMax)
	}

	// Reset: the same address under a new node id.
	master2 := cl.Masters()[1]
	reset := cl.ReplicaOf(master2)
	resetID, master2ID := cl.NodeID(reset), cl.NodeID(master2)
	if err := reset.Client(t).ClusterResetHard(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	wiped := time.Now()
	for _, n := range append(cl.Nodes(), fresh) {
		if n != reset && n != old {
			// A node gossip did not yet tell of the id has nothing to forget.
			if err := n.Client(t).ClusterForget(ctx, resetID).Err(); err != nil && !strings.Contains(err.Error(), "Unknown node") {
				t.Fatalf("CLUSTER FORGET on %s: %v", n.Addr(), err)
			}
		}
	}
	join(t, reset, master2, master2ID)
	redistest.Eventually(t, 30*time.Second, "the cluster's slot map naming the reset replica", func() bool { return named(master2, reset.Addr()) })
	clusterAt = time.Now()
	redistest.Eventually(t, 30*time.Second, "Nodes() listing the reset replica once, ready", func() bool {
		n, ready := listed(reset.Addr())
		return n == 1 && ready
	})
	t.Logf("reset replica: named again %v after the reset; Nodes() listed it ready %v later",
		clusterAt.Sub(wiped).Round(10*time.Millisecond), time.Since(clusterAt).Round(10*time.Millisecond))
	if n, _ := listed(old.Addr()); n != 0 {
		t.Errorf("the old replica %s is listed again", old.Addr())
	}
}

// join makes node, a cluster node that knows no other, a replica of master.
func join(t *testing.T, node, master *redistest.Server, masterID string) {
	t.Helper()
	ctx := context.Background()
	admin := node.Client(t)
	if err := admin.ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(master.Port())).Err(); err != nil {
		t.Fatalf("CLUSTER MEET: %v", err)
	}
	redistest.Eventually(t, 10*time.Second, "the new node knowing the master", func() bool {
		nodes, err := admin.ClusterNodes(ctx).Result()
		return err == nil && slices.ContainsFunc(strings.Split(nodes, "\n"), func(l string) bool {
			return strings.HasPrefix(l, masterID+" ") && strings.Contains(l, "master")
		})
	})
	if err := admin.ClusterReplicate(ctx, masterID).Err(); err != nil {
		t.Fatalf("CLUSTER REPLICATE: %v", err)
	}
}
