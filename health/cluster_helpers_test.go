package health_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// cluster is a Redis Cluster of real redis-server processes for one test:
// masters sharing the 16384 slots evenly, without replicas, so that a node
// killed stays in the slot map. Nodes keep serving their slots while a shard
// is down (cluster-require-full-coverage no).
type cluster struct {
	masters []*redistest.Server
	admin   map[*redistest.Server]*redis.Client
	bus     map[*redistest.Server]int // the cluster bus port of each node
}

// startCluster starts a cluster of masters masters and returns once every
// node agrees on it.
func startCluster(t *testing.T, masters int) *cluster {
	t.Helper()
	c := &cluster{admin: make(map[*redistest.Server]*redis.Client), bus: make(map[*redistest.Server]int)}
	for range masters {
		c.masters = append(c.masters, c.startNode(t))
	}
	ctx := context.Background()
	for _, n := range c.masters[1:] {
		if err := c.admin[c.masters[0]].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port(), c.bus[n]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range c.masters {
		first, last := c.slots(i)
		if err := c.admin[m].Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatal(err)
		}
	}
	redistest.Eventually(t, 30*time.Second, "every node knows every other", func() bool {
		for _, n := range c.masters {
			if c.known(n) != len(c.masters) {
				return false
			}
		}
		return true
	})
	redistest.Eventually(t, 30*time.Second, "the cluster formed", func() bool {
		for _, n := range c.masters {
			info := c.admin[n].ClusterInfo(ctx).Val()
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
				return false
			}
		}
		return true
	})
	return c
}

// startNode starts a redis-server in cluster mode, its cluster bus on a
// free port of its own.
func (c *cluster) startNode(t *testing.T) *redistest.Server {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bus := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := redistest.StartServer(t,
		"cluster-enabled yes",
		fmt.Sprintf("cluster-port %d", bus),
		"cluster-node-timeout 2000",
		"cluster-require-full-coverage no",
	)
	c.admin[n], c.bus[n] = n.Client(t), bus
	return n
}

// slots returns the range of slots masters[i] was given.
func (c *cluster) slots(i int) (first, last int) {
	per := 16384 / len(c.masters)
	first, last = i*per, (i+1)*per-1
	if i == len(c.masters)-1 {
		last = 16383
	}
	return first, last
}

// known returns how many nodes n knows that finished their handshake.
func (c *cluster) known(n *redistest.Server) int {
	count := 0
	for _, line := range strings.Split(c.admin[n].ClusterNodes(context.Background()).Val(), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		flags := strings.Split(fields[2], ",")
		if !slices.Contains(flags, "handshake") && !slices.Contains(flags, "noaddr") {
			count++
		}
	}
	return count
}

// addrs returns the address of every node: the seeds of a cluster client.
func (c *cluster) addrs() []string {
	var addrs []string
	for _, n := range c.masters {
		addrs = append(addrs, n.Addr())
	}
	return addrs
}
