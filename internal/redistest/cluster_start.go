package redistest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// clusterCreateAttempts bounds how often StartCluster starts over on
	// new nodes after a creation that did not complete.
	clusterCreateAttempts = 3
	// clusterCLITimeout bounds one run of redis-cli --cluster create,
	// which otherwise waits forever for nodes that never meet.
	clusterCLITimeout = 30 * time.Second
	// clusterFormTimeout bounds the wait, after redis-cli, for every node
	// to agree on the cluster and every replica to have synced.
	clusterFormTimeout = 30 * time.Second
	// clusterPollInterval is how often the cluster is asked while waiting.
	clusterPollInterval = 50 * time.Millisecond
	// clusterLogTailLines is how much of each node's log a failure shows.
	clusterLogTailLines = 15
)

// StartCluster starts a Redis Cluster for t and returns once it serves
// every slot: cfg.Masters masters and cfg.ReplicasPerMaster replicas of
// each, every node a redis-server in a fresh t.TempDir() on a free loopback
// port whose cluster bus port (10000 above) was free too. The nodes are
// joined with redis-cli --cluster create, the way operators create
// clusters, and StartCluster waits until every node reports
// cluster_state:ok, every node agrees with every other on every node's
// role, config epoch and slots, and every replica has synced with its
// master, so that a failover can start at once.
//
// Creating a cluster on a busy machine can fail for reasons outside the
// test (a port taken, nodes slow to meet); StartCluster then starts over
// on new nodes, up to 3 times, and at last fails the test with redis-cli's
// output, what was still wrong and the tail of every node's log. A missing
// redis-server or redis-cli skips the test, or fails it when
// REDISGUARD_REQUIRE_REDIS=1. t.Cleanup kills every node.
//
// Persistence is off: a node that is restarted keeps its nodes.conf, and
// so its place in the cluster, but not its data.
func StartCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	RedisServerPath(t)
	cli := RedisCLIPath(t)
	if err := cfg.validate(); err != nil {
		t.Fatalf("redistest: StartCluster: %v", err)
	}
	cfg = cfg.withDefaults()
	for attempt := 1; ; attempt++ {
		c := startClusterNodes(t, cfg)
		err := c.create(cli)
		if err == nil {
			return c
		}
		if attempt == clusterCreateAttempts {
			t.Fatalf("redistest: StartCluster: %v", err)
		}
		summary, _, _ := strings.Cut(err.Error(), "\n")
		t.Logf("redistest: StartCluster: attempt %d of %d failed, starting over on new nodes: %s", attempt, clusterCreateAttempts, summary)
		c.discard()
	}
}

// startClusterNodes starts every node, not yet joined.
func startClusterNodes(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	n := cfg.Masters * (1 + cfg.ReplicasPerMaster)
	c := &Cluster{
		t:         t,
		cfg:       cfg,
		password:  passwordFrom(cfg.Extra),
		index:     make(map[string]int, n),
		lastOwner: slices.Repeat([]int{-1}, ClusterSlots),
	}
	config := cfg.nodeConfig()
	for range n {
		node := newServer(t, config)
		node.startOn(freeClusterPort)
		c.nodes = append(c.nodes, node)
		c.admin = append(c.admin, redis.NewClient(adminOptions(node)))
	}
	t.Cleanup(c.closeAdmin)
	return c
}

// discard kills the nodes of a cluster that StartCluster gave up on.
func (c *Cluster) discard() {
	c.closeAdmin()
	for _, node := range c.nodes {
		node.Kill()
	}
}

func (c *Cluster) closeAdmin() {
	for _, admin := range c.admin {
		_ = admin.Close() // fails only when already closed
	}
}

// create joins the started nodes into a cluster and waits until it formed.
func (c *Cluster) create(cli string) error {
	out, err := c.runCreate(cli)
	if err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w\n--- redis-cli ---\n%s%s", err, out, c.logTails())
	}
	if err := c.learnIDs(); err != nil {
		return fmt.Errorf("after redis-cli --cluster create: %w%s", err, c.logTails())
	}
	if err := c.awaitFormed(); err != nil {
		return fmt.Errorf("after redis-cli --cluster create: %w\n--- redis-cli ---\n%s%s", err, out, c.logTails())
	}
	return nil
}

// ansiEscape matches the colour codes redis-cli writes even into a pipe.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// runCreate runs redis-cli --cluster create on every node and returns its
// output, without colour codes.
func (c *Cluster) runCreate(cli string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCLITimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(c.cfg.ReplicasPerMaster), "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	if c.password != "" {
		// The environment keeps the password out of the process list.
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+c.password)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = childSysProcAttr()
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("no result within %v: %w", clusterCLITimeout, err)
	}
	return ansiEscape.ReplaceAllString(out.String(), ""), err
}

// learnIDs asks every node for its cluster ID.
func (c *Cluster) learnIDs() error {
	ctx, cancel := adminContext()
	defer cancel()
	c.ids = make([]string, len(c.nodes))
	for i, admin := range c.admin {
		id, err := admin.ClusterMyID(ctx).Result()
		if err != nil {
			return fmt.Errorf("CLUSTER MYID on %s: %w", c.nodes[i].Addr(), err)
		}
		c.ids[i] = id
		c.index[id] = i
	}
	return nil
}

// awaitFormed waits until the cluster has settled into the shape asked for,
// attaching any replica that redis-cli failed to attach: redis-cli ignores
// a CLUSTER REPLICATE that fails because the replica has not yet heard of
// its master.
func (c *Cluster) awaitFormed() error {
	problem := poll(clusterFormTimeout, func() string {
		views, problems := c.observe(true)
		problem := c.settledProblem(views, problems)
		if problem == "" {
			problem = c.shapeProblem(views)
		}
		if problem == "" {
			c.remember(c.resolveOwners(views))
			return ""
		}
		c.attachStrayReplicas(views)
		return problem
	})
	if problem != "" {
		return fmt.Errorf("not formed within %v: %s", clusterFormTimeout, problem)
	}
	return nil
}

// shapeProblem says how a settled cluster differs from the one asked for,
// or returns "".
func (c *Cluster) shapeProblem(views []nodeView) string {
	replicas := make(map[int]int)
	masters := 0
	for _, v := range views {
		self, _ := v.self()
		switch {
		case self.master && len(self.slots) > 0:
			masters++
		case !self.master:
			replicas[c.index[self.masterID]]++
		}
	}
	if masters != c.cfg.Masters {
		return fmt.Sprintf("%d masters serve slots, want %d", masters, c.cfg.Masters)
	}
	for _, v := range views {
		if self, _ := v.self(); self.master && replicas[v.node] != c.cfg.ReplicasPerMaster {
			return fmt.Sprintf("master %s has %d replicas, want %d", c.nodes[v.node].Addr(), replicas[v.node], c.cfg.ReplicasPerMaster)
		}
	}
	return ""
}

// attachStrayReplicas makes every node that is a master without slots a
// replica of the master with the fewest replicas, when it knows that
// master already; errors are left for the next round to retry.
func (c *Cluster) attachStrayReplicas(views []nodeView) {
	replicas := make(map[string]int)
	var strays []nodeView
	for _, v := range views {
		self, _ := v.self()
		switch {
		case self.master && len(self.slots) > 0:
			if _, seen := replicas[self.id]; !seen {
				replicas[self.id] = 0
			}
		case self.master:
			strays = append(strays, v)
		default:
			replicas[self.masterID]++
		}
	}
	for _, stray := range strays {
		master := ""
		for id, n := range replicas {
			if n < c.cfg.ReplicasPerMaster && (master == "" || n < replicas[master] || n == replicas[master] && id < master) {
				master = id
			}
		}
		if master == "" || !knowsNode(stray, master) {
			continue
		}
		ctx, cancel := adminContext()
		err := c.admin[stray.node].ClusterReplicate(ctx, master).Err()
		cancel()
		if err == nil {
			replicas[master]++
		}
	}
}

// knowsNode reports whether v knows the node with id and has finished
// the handshake with it.
func knowsNode(v nodeView, id string) bool {
	for _, e := range v.entries {
		if e.id == id && !e.joining {
			return true
		}
	}
	return false
}

// logTails returns the tail of every node's log, for failure messages.
func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, node := range c.nodes {
		fmt.Fprintf(&b, "\n[%s] %s", node.Addr(), node.logTail(clusterLogTailLines))
	}
	return b.String()
}

// poll calls check every clusterPollInterval until it returns "" or
// timeout passes, and returns its last result.
func poll(timeout time.Duration, check func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		problem := check()
		if problem == "" || time.Now().After(deadline) {
			return problem
		}
		time.Sleep(clusterPollInterval)
	}
}
