package redistest

import (
	"fmt"
	"strconv"
	"strings"
)

// nodeView is what one answering node says about its cluster.
type nodeView struct {
	node    int // position of the answering node in Cluster.nodes
	entries []nodeEntry
	state   string // cluster_state from CLUSTER INFO
	// From INFO replication, when the view was asked for with it.
	role       string // "master" or "slave"
	masterPort int
	linkUp     bool
}

// self returns the answering node's entry about itself.
func (v nodeView) self() (nodeEntry, bool) {
	for _, e := range v.entries {
		if e.myself {
			return e, true
		}
	}
	return nodeEntry{}, false
}

// observe asks every node that runs and is not stopped for its view, and
// with replication for its INFO replication too. Nodes that fail to answer
// are left out, with the reason in problems.
func (c *Cluster) observe(withReplication bool) (views []nodeView, problems []string) {
	for i, node := range c.nodes {
		if !node.answering() {
			continue
		}
		v, err := c.viewOf(i, withReplication)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s does not answer: %v", node.Addr(), err))
			continue
		}
		views = append(views, v)
	}
	return views, problems
}

func (c *Cluster) viewOf(i int, withReplication bool) (nodeView, error) {
	ctx, cancel := adminContext()
	defer cancel()
	admin := c.admin[i]
	v := nodeView{node: i}
	nodes, err := admin.ClusterNodes(ctx).Result()
	if err != nil {
		return v, fmt.Errorf("CLUSTER NODES: %w", err)
	}
	if v.entries, err = parseClusterNodes(nodes); err != nil {
		return v, err
	}
	info, err := admin.ClusterInfo(ctx).Result()
	if err != nil {
		return v, fmt.Errorf("CLUSTER INFO: %w", err)
	}
	v.state = infoField(info, "cluster_state")
	if withReplication {
		repl, err := admin.Info(ctx, "replication").Result()
		if err != nil {
			return v, fmt.Errorf("INFO replication: %w", err)
		}
		v.role = infoField(repl, "role")
		v.masterPort, _ = strconv.Atoi(infoField(repl, "master_port"))
		v.linkUp = infoField(repl, "master_link_status") == "up"
	}
	return v, nil
}

// infoField returns the value of name in an INFO-style "name:value" reply.
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if value, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return value
		}
	}
	return ""
}

// mustObserve is observe for lookups: it fails the test when no node
// answers at all.
func (c *Cluster) mustObserve() []nodeView {
	c.t.Helper()
	views, problems := c.observe(false)
	if len(views) == 0 {
		c.t.Fatalf("redistest: no node of the cluster answers %v", problems)
	}
	return views
}

// currentOwners resolves which node serves each slot now (see
// resolveOwners) and remembers it for WaitFailover.
func (c *Cluster) currentOwners() []int {
	c.t.Helper()
	owners := c.resolveOwners(c.mustObserve())
	c.remember(owners)
	return owners
}

// resolveOwners returns, for every slot, the position of the master that
// claims it with the highest config epoch in any view, which is how Redis
// settles conflicting claims, or -1 where no view assigns the slot.
func (c *Cluster) resolveOwners(views []nodeView) []int {
	owners := make([]int, ClusterSlots)
	epochs := make([]uint64, ClusterSlots)
	for s := range owners {
		owners[s] = -1
	}
	for _, v := range views {
		for _, e := range v.entries {
			node, known := c.index[e.id]
			if !known || !e.master {
				continue
			}
			for _, r := range e.slots {
				for s := r.first; s <= r.last; s++ {
					if owners[s] < 0 || e.configEpoch > epochs[s] {
						owners[s], epochs[s] = node, e.configEpoch
					}
				}
			}
		}
	}
	return owners
}

// remember records the owners just resolved as the last seen.
func (c *Cluster) remember(owners []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s, owner := range owners {
		if owner >= 0 {
			c.lastOwner[s] = owner
		}
	}
}

// nodeRole is a node's role as the cluster reports it.
type nodeRole struct {
	known    bool // some answering node knows it
	master   bool
	masterOf int // for a replica, its master's position; -1 if unknown
}

// currentRoles returns every node's role: the node's own word when it
// answers, otherwise the first answering node's that knows it.
func (c *Cluster) currentRoles() []nodeRole {
	c.t.Helper()
	views := c.mustObserve()
	roles := make([]nodeRole, len(c.nodes))
	ownWord := make([]bool, len(c.nodes))
	for _, v := range views {
		for _, e := range v.entries {
			node, known := c.index[e.id]
			if !known || ownWord[node] || roles[node].known && !e.myself {
				continue
			}
			master, hasMaster := c.index[e.masterID]
			if !hasMaster {
				master = -1
			}
			roles[node] = nodeRole{known: true, master: e.master, masterOf: master}
			ownWord[node] = e.myself
		}
	}
	return roles
}
