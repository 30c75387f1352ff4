package metrics_test

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
// masters sharing the 16384 slots evenly, and one replica for each of the
// first masters. Nodes keep serving their slots while a shard is down
// (cluster-require-full-coverage no), and a killed master's replica takes
// over about 3 s later (cluster-node-timeout 2 s).
type cluster struct {
	masters  []*redistest.Server
	replicas []*redistest.Server // replicas[i] replicates masters[i]
	admin    map[*redistest.Server]*redis.Client
	bus      map[*redistest.Server]int // the cluster bus port of each node
}

// startCluster starts a cluster of masters masters, the first replicated
// of them with a replica each, and returns once every node agrees on it.
func startCluster(t *testing.T, masters, replicated int) *cluster {
	t.Helper()
	c := &cluster{admin: make(map[*redistest.Server]*redis.Client), bus: make(map[*redistest.Server]int)}
	for range masters {
		c.masters = append(c.masters, c.startNode(t))
	}
	for range replicated {
		c.replicas = append(c.replicas, c.startNode(t))
	}
	ctx := context.Background()
	nodes := c.nodes()
	for _, n := range nodes[1:] {
		if err := c.admin[nodes[0]].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port(), c.bus[n]).Err(); err != nil {
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
		for _, n := range nodes {
			if c.count(n, "") != len(nodes) {
				return false
			}
		}
		return true
	})
	for i, r := range c.replicas {
		id := c.admin[c.masters[i]].ClusterMyID(ctx).Val()
		redistest.Eventually(t, 30*time.Second, "a replica attached", func() bool {
			return c.admin[r].ClusterReplicate(ctx, id).Err() == nil
		})
	}
	redistest.Eventually(t, 30*time.Second, "the cluster formed", func() bool {
		for _, n := range nodes {
			info := c.admin[n].ClusterInfo(ctx).Val()
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") ||
				c.count(n, "slave") != len(c.replicas) {
				return false
			}
		}
		for _, r := range c.replicas {
			if !strings.Contains(c.admin[r].Info(ctx, "replication").Val(), "master_link_status:up") {
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
		"repl-diskless-sync-delay 0",
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

// keyOn returns a key whose slot masters[i] was given.
func (c *cluster) keyOn(i int) string {
	first, last := c.slots(i)
	for k := 0; ; k++ {
		key := fmt.Sprint("key", k)
		if slot := keySlot(key); slot >= first && slot <= last {
			return key
		}
	}
}

// keySlot is the hash slot of a key without a hash tag: CRC16 (XMODEM) of
// the key, modulo 16384.
func keySlot(key string) int {
	var crc uint16
	for i := range len(key) {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// count returns how many of the nodes n knows, handshake done, have flag
// among their flags ("" for any).
func (c *cluster) count(n *redistest.Server, flag string) int {
	count := 0
	for _, line := range strings.Split(c.admin[n].ClusterNodes(context.Background()).Val(), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		flags := strings.Split(fields[2], ",")
		if !slices.Contains(flags, "handshake") && !slices.Contains(flags, "noaddr") && (flag == "" || slices.Contains(flags, flag)) {
			count++
		}
	}
	return count
}

// nodes returns every node, masters first.
func (c *cluster) nodes() []*redistest.Server {
	return append(append([]*redistest.Server{}, c.masters...), c.replicas...)
}

// addrs returns the address of every node: the seeds of a cluster client.
func (c *cluster) addrs() []string {
	var addrs []string
	for _, n := range c.nodes() {
		addrs = append(addrs, n.Addr())
	}
	return addrs
}
