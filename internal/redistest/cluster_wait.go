package redistest

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// WaitState waits until every node that runs and is not stopped reports
// cluster_state:state ("ok" or "fail"), and fails the test after timeout.
// With RequireFullCoverage false a cluster stays "ok" while a shard is
// down; WaitFailover is the wait for that shard to be served again.
func (c *Cluster) WaitState(t testing.TB, state string, timeout time.Duration) {
	t.Helper()
	problem := poll(timeout, func() string {
		views, problems := c.observe(false)
		if len(views) == 0 {
			return fmt.Sprintf("no node answers %v", problems)
		}
		for _, v := range views {
			if v.state != state {
				return fmt.Sprintf("%s reports cluster_state:%s", c.nodes[v.node].Addr(), v.state)
			}
		}
		return ""
	})
	if problem != "" {
		t.Fatalf("redistest: cluster_state:%s not reached within %v: %s%s", state, timeout, problem, c.logTails())
	}
}

// WaitFailover waits until the slots that old served, when the harness
// last looked (StartCluster, every lookup and every wait look), are served
// by another master: that master claims them, reports cluster_state:ok,
// and every other node that answers, old aside, agrees. It returns the new
// master and fails the test after timeout. Kill or Stop old first; the
// cluster fails it over about a second after NodeTimeout.
func (c *Cluster) WaitFailover(t testing.TB, old *Server, timeout time.Duration) *Server {
	t.Helper()
	from := c.indexOf(old)
	slots := c.slotsLastServedBy(from)
	if len(slots) == 0 {
		t.Fatalf("redistest: WaitFailover: %s served no slot when the cluster was last looked at", old.Addr())
	}
	successor := -1
	problem := poll(timeout, func() string {
		views, _ := c.observe(false)
		owners := c.resolveOwners(views)
		successor = owners[slots[0]]
		for _, s := range slots {
			if owners[s] == from {
				return fmt.Sprintf("slot %d is still %s's", s, old.Addr())
			}
			if owners[s] != successor {
				return fmt.Sprintf("slots %d and %d went to different nodes", slots[0], s)
			}
		}
		if successor < 0 {
			return fmt.Sprintf("no node claims slot %d", slots[0])
		}
		heir := c.nodes[successor]
		heirViewed := false
		for _, v := range views {
			if v.node == from {
				continue
			}
			if owner := c.resolveOwners([]nodeView{v})[slots[0]]; owner != successor {
				return fmt.Sprintf("%s does not yet see %s serving slot %d", c.nodes[v.node].Addr(), heir.Addr(), slots[0])
			}
			if v.node == successor {
				heirViewed = true
				if v.state != "ok" {
					return fmt.Sprintf("%s, the new master, reports cluster_state:%s", heir.Addr(), v.state)
				}
			}
		}
		if !heirViewed {
			return fmt.Sprintf("%s, the new master, does not answer", heir.Addr())
		}
		c.remember(owners)
		return ""
	})
	if problem != "" {
		t.Fatalf("redistest: no failover of %s within %v: %s%s", old.Addr(), timeout, problem, c.logTails())
	}
	return c.nodes[successor]
}

// slotsLastServedBy returns the slots node served when last seen.
func (c *Cluster) slotsLastServedBy(node int) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var slots []int
	for s, owner := range c.lastOwner {
		if owner == node {
			slots = append(slots, s)
		}
	}
	return slots
}

// WaitSettled waits until the cluster is whole again: every node runs and
// answers, reports cluster_state:ok and agrees with every other on every
// node's role, config epoch and slots, no node flags another as failing,
// every slot is served, and every replica has synced with its master.
// After Restart this is the wait for the node to have rejoined (a
// failed-over master comes back as a replica of its successor), so that
// the next fault starts from a known cluster. It fails the test at once
// when a node is killed or stopped, and after timeout otherwise.
func (c *Cluster) WaitSettled(t testing.TB, timeout time.Duration) {
	t.Helper()
	for _, node := range c.nodes {
		if !node.answering() {
			t.Fatalf("redistest: WaitSettled: %s is killed or stopped, so the cluster cannot settle", node.Addr())
		}
	}
	problem := poll(timeout, func() string {
		views, problems := c.observe(true)
		problem := c.settledProblem(views, problems)
		if problem == "" {
			c.remember(c.resolveOwners(views))
		}
		return problem
	})
	if problem != "" {
		t.Fatalf("redistest: cluster not settled within %v: %s%s", timeout, problem, c.logTails())
	}
}

// settledProblem says why the views, asked for with replication, do not
// show a whole and settled cluster, or returns "".
func (c *Cluster) settledProblem(views []nodeView, problems []string) string {
	if len(problems) > 0 {
		return problems[0]
	}
	own := make([]*nodeEntry, len(c.nodes))
	for _, v := range views {
		self, ok := v.self()
		if !ok {
			return fmt.Sprintf("%s does not list itself", c.nodes[v.node].Addr())
		}
		own[v.node] = &self
	}
	for i, self := range own {
		if self == nil {
			return fmt.Sprintf("%s is killed or stopped", c.nodes[i].Addr())
		}
	}
	for _, v := range views {
		at := c.nodes[v.node].Addr()
		if v.state != "ok" {
			return fmt.Sprintf("%s reports cluster_state:%s", at, v.state)
		}
		if len(v.entries) != len(c.nodes) {
			return fmt.Sprintf("%s knows %d nodes, want %d", at, len(v.entries), len(c.nodes))
		}
		for _, e := range v.entries {
			if p := c.entryProblem(at, e, own); p != "" {
				return p
			}
		}
	}
	for s, owner := range c.resolveOwners(views) {
		if owner < 0 {
			return fmt.Sprintf("no node serves slot %d", s)
		}
	}
	for _, v := range views {
		if p := c.replicationProblem(v, *own[v.node]); p != "" {
			return p
		}
	}
	return ""
}

// entryProblem says what is wrong with the entry e in the view of the node
// at, given every node's own entry, or returns "".
func (c *Cluster) entryProblem(at string, e nodeEntry, own []*nodeEntry) string {
	node, known := c.index[e.id]
	switch {
	case !known:
		return fmt.Sprintf("%s knows a node %s that is not part of the cluster", at, e.id)
	case e.joining:
		return fmt.Sprintf("%s is still meeting %s", at, c.nodes[node].Addr())
	case e.failing:
		return fmt.Sprintf("%s flags %s as failing", at, c.nodes[node].Addr())
	case !e.myself && !e.connected:
		return fmt.Sprintf("%s has no link to %s", at, c.nodes[node].Addr())
	}
	if self := own[node]; e.master != self.master || e.masterID != self.masterID || e.configEpoch != self.configEpoch || !slices.Equal(e.slots, self.slots) {
		return fmt.Sprintf("%s sees %s as %s; it says it is %s", at, c.nodes[node].Addr(), c.describeEntry(e), c.describeEntry(*self))
	}
	return ""
}

// replicationProblem says why the node of v, whose own entry is self, is
// not serving as its cluster role says, or returns "".
func (c *Cluster) replicationProblem(v nodeView, self nodeEntry) string {
	at := c.nodes[v.node].Addr()
	if self.master {
		if v.role != "master" {
			return fmt.Sprintf("%s is a master of the cluster but its INFO says role:%s", at, v.role)
		}
		return ""
	}
	master, known := c.index[self.masterID]
	switch {
	case !known:
		return fmt.Sprintf("replica %s follows an unknown master %q", at, self.masterID)
	case v.role != "slave" || v.masterPort != c.nodes[master].Port():
		return fmt.Sprintf("replica %s does not replicate %s yet (role:%s, master_port:%d)", at, c.nodes[master].Addr(), v.role, v.masterPort)
	case !v.linkUp:
		return fmt.Sprintf("replica %s has not synced with %s yet", at, c.nodes[master].Addr())
	}
	return ""
}

// describeEntry renders an entry for failure messages.
func (c *Cluster) describeEntry(e nodeEntry) string {
	if !e.master {
		master := e.masterID
		if i, ok := c.index[e.masterID]; ok {
			master = c.nodes[i].Addr()
		}
		return fmt.Sprintf("replica of %s (epoch %d)", master, e.configEpoch)
	}
	return fmt.Sprintf("master of slots %v (epoch %d)", e.slots, e.configEpoch)
}
