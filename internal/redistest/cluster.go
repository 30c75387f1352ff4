package redistest

import (
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of redis-server processes owned by one test,
// created by StartCluster. Its nodes are *Servers: Kill, Stop, Continue
// and Restart work on each of them, and a restarted node rejoins the
// cluster with the identity and view it kept in its nodes.conf.
//
// Which node is a master changes with failovers, so the lookups (MasterOf,
// Masters, Replicas, ReplicasOf) ask the nodes that answer, every time. A
// node's own word settles its role; a slot belongs to the master that
// claims it with the highest config epoch, as Redis itself decides. Nodes
// that are killed or stopped are not asked. Methods that can fail the
// test follow the rules of t.Fatal; the Wait methods take the test to
// fail.
type Cluster struct {
	t        testing.TB
	cfg      ClusterConfig
	nodes    []*Server
	admin    []*redis.Client // the harness's own connection to each node
	ids      []string        // each node's cluster ID, which nodes.conf keeps
	index    map[string]int  // position in nodes, by cluster ID
	password string

	mu sync.Mutex
	// lastOwner is the node last seen serving each slot, so that
	// WaitFailover knows a dead master's slots once the cluster has
	// handed them on.
	lastOwner []int
}

// Nodes returns every node, masters first in the order redis-cli
// --cluster create was given them, whatever their role is now. The slice
// is the caller's.
func (c *Cluster) Nodes() []*Server {
	return slices.Clone(c.nodes)
}

// Addrs returns the address of every node, in the order of Nodes: the
// seed addresses for a cluster client.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Client returns a plain go-redis cluster client with go-redis's defaults,
// seeded with every node, for a test to set up and check data. t.Cleanup
// closes it.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:    c.Addrs(),
		Password: c.password,
	})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// MasterOf returns the master that serves key's hash slot now, as the
// cluster says. Until a dead master's replica has taken over, that is the
// dead master.
func (c *Cluster) MasterOf(key string) *Server {
	c.t.Helper()
	owner := c.currentOwners()[KeySlot(key)]
	if owner < 0 {
		c.t.Fatalf("redistest: no node of the cluster serves slot %d (key %q)", KeySlot(key), key)
	}
	return c.nodes[owner]
}

// Masters returns the masters that serve slots now, in the order of their
// first slot, so Masters()[0] serves slot 0. A dead master is among them
// until its replica has taken over.
func (c *Cluster) Masters() []*Server {
	c.t.Helper()
	return c.mastersIn(c.currentOwners())
}

// mastersIn lists the nodes owning slots, in the order of their first.
func (c *Cluster) mastersIn(owners []int) []*Server {
	var masters []*Server
	for _, owner := range owners {
		if owner >= 0 && !slices.Contains(masters, c.nodes[owner]) {
			masters = append(masters, c.nodes[owner])
		}
	}
	return masters
}

// Replicas returns the nodes that are replicas now, in the order of Nodes.
func (c *Cluster) Replicas() []*Server {
	c.t.Helper()
	var replicas []*Server
	for i, r := range c.currentRoles() {
		if r.known && !r.master {
			replicas = append(replicas, c.nodes[i])
		}
	}
	return replicas
}

// ReplicasOf returns the replicas of master now, in the order of Nodes.
func (c *Cluster) ReplicasOf(master *Server) []*Server {
	c.t.Helper()
	m := c.indexOf(master)
	var replicas []*Server
	for i, r := range c.currentRoles() {
		if r.known && !r.master && r.masterOf == m {
			replicas = append(replicas, c.nodes[i])
		}
	}
	return replicas
}

// ReplicaOf returns the first of master's replicas, failing the test when
// it has none.
func (c *Cluster) ReplicaOf(master *Server) *Server {
	c.t.Helper()
	replicas := c.ReplicasOf(master)
	if len(replicas) == 0 {
		c.t.Fatalf("redistest: %s has no replica", master.Addr())
	}
	return replicas[0]
}

// NodeID returns the cluster ID of node, which it keeps across restarts.
func (c *Cluster) NodeID(node *Server) string {
	c.t.Helper()
	return c.ids[c.indexOf(node)]
}

// indexOf returns node's position in c.nodes, failing the test when node
// is not part of the cluster.
func (c *Cluster) indexOf(node *Server) int {
	c.t.Helper()
	i := slices.Index(c.nodes, node)
	if i < 0 {
		c.t.Fatalf("redistest: %s is not a node of this cluster", node.Addr())
	}
	return i
}
