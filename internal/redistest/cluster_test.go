package redistest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// clusterTimeout bounds the cluster's own reactions (a failover, a node
// rejoining), which take a few seconds with a 2 s node timeout, generously
// for a loaded machine.
const clusterTimeout = 30 * time.Second

func TestClusterServesEverySlot(t *testing.T) {
	t.Parallel()
	started := time.Now()
	c := StartCluster(t, ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
	t.Logf("cluster of %d nodes up in %v", len(c.Nodes()), time.Since(started).Round(time.Millisecond))

	masters, replicas := c.Masters(), c.Replicas()
	if len(c.Nodes()) != 6 || len(masters) != 3 || len(replicas) != 3 {
		t.Fatalf("%d nodes, %d masters, %d replicas; want 6, 3, 3", len(c.Nodes()), len(masters), len(replicas))
	}
	for _, m := range masters {
		if slices.Contains(replicas, m) {
			t.Errorf("%s is a master and a replica", m.Addr())
		}
		r := c.ReplicaOf(m)
		if got := c.ReplicasOf(m); len(got) != 1 || got[0] != r {
			t.Errorf("ReplicasOf(%s) = %v, want just %s", m.Addr(), got, r.Addr())
		}
	}

	ctx := context.Background()
	client := c.Client(t)
	shards, err := client.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, shard := range shards {
		for _, r := range shard.Slots {
			covered += int(r.End - r.Start + 1)
		}
	}
	if covered != ClusterSlots {
		t.Errorf("CLUSTER SHARDS covers %d slots, want %d", covered, ClusterSlots)
	}

	keys := c.KeysOnEveryShard(3)
	if len(keys) != 3 {
		t.Fatalf("keys for %d shards, want 3", len(keys))
	}
	if all := keys.All(); len(all) != 9 || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 9 {
		t.Errorf("All() = %v, want 9 distinct keys, sorted", all)
	}
	others := keys.Except(masters[0])
	if len(others) != 6 || slices.ContainsFunc(keys[masters[0]], func(k string) bool { return slices.Contains(others, k) }) {
		t.Errorf("Except(%s) = %v, want the 6 keys of the other shards", masters[0].Addr(), others)
	}
	for master, shardKeys := range keys {
		if len(shardKeys) != 3 {
			t.Errorf("%d keys for %s, want 3", len(shardKeys), master.Addr())
		}
		for _, key := range shardKeys {
			if err := client.Set(ctx, key, "v", 0).Err(); err != nil {
				t.Fatalf("SET %s: %v", key, err)
			}
			slot, err := master.Client(t).ClusterKeySlot(ctx, key).Result()
			if err != nil || int(slot) != KeySlot(key) {
				t.Errorf("CLUSTER KEYSLOT %s = %d, %v; KeySlot says %d", key, slot, err, KeySlot(key))
			}
			if got := c.MasterOf(key); got != master {
				t.Errorf("MasterOf(%s) = %s, want %s", key, got.Addr(), master.Addr())
			}
			// The master answers for its own keys without a redirection.
			if v, err := master.Client(t).Get(ctx, key).Result(); err != nil || v != "v" {
				t.Errorf("GET %s on its master %s = %q, %v", key, master.Addr(), v, err)
			}
		}
	}
}

func TestClusterFailoverAndRejoin(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: 2 * time.Second})
	ctx := context.Background()
	client := c.Client(t)
	keys := c.KeysOnEveryShard(2)
	victim := c.Masters()[0]
	replica := c.ReplicaOf(victim)
	load := StartLoad(t, client, LoadConfig{Keys: keys.All()})
	load.WaitSuccess(t, load.Started(), clusterTimeout, keys.All()...)

	id := c.NodeID(victim)
	victim.Kill()
	killed := time.Now()
	heir := c.WaitFailover(t, victim, clusterTimeout)
	t.Logf("slots of the killed master served by %s %v after the kill", heir.Addr(), time.Since(killed).Round(time.Millisecond))
	if heir != replica {
		t.Fatalf("failed over to %s, want its replica %s", heir.Addr(), replica.Addr())
	}
	c.WaitState(t, "ok", clusterTimeout)
	key := keys[victim][0]
	if got := c.MasterOf(key); got != heir {
		t.Fatalf("MasterOf(%s) = %s, want the promoted %s", key, got.Addr(), heir.Addr())
	}
	if slices.Contains(c.Masters(), victim) {
		t.Fatalf("Masters() still lists the failed-over %s", victim.Addr())
	}
	// go-redis reloads its slot map on its own only every minute or so.
	client.ReloadState(ctx)
	served := load.WaitSuccess(t, killed, clusterTimeout, keys[victim]...)
	load.Stop()
	others := load.Outcome(killed, served, keys.Except(victim)...)
	t.Logf("plain cluster client: the killed master's keys served again %v after the kill; other shards meanwhile: %v",
		served.Sub(killed).Round(time.Millisecond), others)
	if others.OK == 0 {
		t.Errorf("no command on the other shards succeeded between the kill and the failover: %v", others)
	}
	if err := client.Set(ctx, key, "after", 0).Err(); err != nil {
		t.Fatalf("SET on the failed-over shard: %v", err)
	}

	victim.Restart()
	restarted := time.Now()
	c.WaitSettled(t, clusterTimeout)
	t.Logf("the restarted master rejoined as a replica, cluster settled, %v after its restart", time.Since(restarted).Round(time.Millisecond))
	if got := c.ReplicaOf(heir); got != victim {
		t.Fatalf("ReplicaOf(the new master) = %s, want the restarted %s", got.Addr(), victim.Addr())
	}
	if got, err := victim.Client(t).ClusterMyID(ctx).Result(); err != nil || got != id {
		t.Fatalf("CLUSTER MYID after the restart = %q, %v; want %q, kept in nodes.conf", got, err, id)
	}
	if !slices.Contains(c.Replicas(), victim) {
		t.Fatalf("Replicas() = %v, want it to list the restarted %s", c.Replicas(), victim.Addr())
	}
	// The rejoined node replicates its successor: it redirects writes and,
	// asked to serve reads, has the write made while it was down.
	if err := victim.Client(t).Set(ctx, key, "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
		t.Fatalf("SET on the rejoined replica: %v; want a MOVED redirection", err)
	}
	conn := victim.Client(t).Conn()
	defer conn.Close()
	if err := conn.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := conn.Get(ctx, key).Result(); err != nil || v != "after" {
		t.Fatalf("GET %s on the rejoined replica = %q, %v; want the write made while it was down", key, v, err)
	}

	// A master paused past the node timeout is failed over too, and
	// rejoins as a replica once resumed.
	paused := c.Masters()[1]
	pausedReplica := c.ReplicaOf(paused)
	paused.Stop()
	stopped := time.Now()
	if heir := c.WaitFailover(t, paused, clusterTimeout); heir != pausedReplica {
		t.Fatalf("paused master failed over to %s, want its replica %s", heir.Addr(), pausedReplica.Addr())
	}
	t.Logf("slots of the paused master served by its replica %v after the pause", time.Since(stopped).Round(time.Millisecond))
	paused.Continue()
	resumed := time.Now()
	c.WaitSettled(t, clusterTimeout)
	t.Logf("the resumed master rejoined as a replica, cluster settled, %v after the resume", time.Since(resumed).Round(time.Millisecond))
	if got := c.ReplicaOf(pausedReplica); got != paused {
		t.Fatalf("ReplicaOf(the new master) = %s, want the resumed %s", got.Addr(), paused.Addr())
	}
}

func TestClusterWaitSettledRefusesADownNode(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, ClusterConfig{})
	node := c.Nodes()[0]
	node.Kill()
	r := recordGiveUp(t, func(tb testing.TB) { c.WaitSettled(tb, clusterTimeout) })
	if !strings.Contains(r.failed, node.Addr()+" is killed or stopped") {
		t.Fatalf("WaitSettled with a killed node failed with %q; want it to name the node at once", r.failed)
	}
}

func TestStartClusterReportsFailure(t *testing.T) {
	t.Parallel()
	// Nodes that are not cluster nodes make redis-cli refuse, on every
	// attempt; the failure shows what redis-cli said and the nodes' logs.
	r := recordGiveUp(t, func(tb testing.TB) { StartCluster(tb, ClusterConfig{Extra: []string{"cluster-enabled no"}}) })
	for _, want := range []string{"redis-cli --cluster create", "is not configured as a cluster node", "--- tail of "} {
		if !strings.Contains(r.failed, want) {
			t.Errorf("failure %q; want it to include %q", r.failed, want)
		}
	}
}

func TestClusterConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  ClusterConfig
		want string
	}{
		{ClusterConfig{Masters: 2}, "ClusterConfig.Masters = 2"},
		{ClusterConfig{Masters: -1}, "ClusterConfig.Masters = -1"},
		{ClusterConfig{ReplicasPerMaster: -1}, "ClusterConfig.ReplicasPerMaster = -1"},
		{ClusterConfig{NodeTimeout: 50 * time.Millisecond}, "ClusterConfig.NodeTimeout = 50ms"},
		{ClusterConfig{NodeTimeout: 1500 * time.Microsecond}, "ClusterConfig.NodeTimeout = 1.5ms"},
	}
	for _, tt := range tests {
		r := recordGiveUp(t, func(tb testing.TB) { StartCluster(tb, tt.cfg) })
		if !strings.Contains(r.failed, tt.want) {
			t.Errorf("StartCluster(%+v) failed with %q; want it to name %s", tt.cfg, r.failed, tt.want)
		}
	}
}

// TestClusterTwoMastersDownAndBack takes a majority of masters away, so that
// no replica can be elected, and brings them back.
func TestClusterTwoMastersDownAndBack(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
	masters := c.Masters()
	masters[0].Kill()
	masters[1].Kill()
	// The nodes left see a minority of masters and refuse service.
	c.WaitState(t, "fail", clusterTimeout)
	masters[0].Restart()
	masters[1].Restart()
	restarted := time.Now()
	c.WaitState(t, "ok", clusterTimeout)
	c.WaitSettled(t, clusterTimeout)
	t.Logf("cluster settled %v after both masters restarted", time.Since(restarted).Round(time.Millisecond))
	// Who is master of those two shards now depends on whether a replica
	// won an election in the moment its master was back; the shape holds.
	if got := c.Masters(); len(got) != 3 {
		t.Fatalf("%d masters serve slots, want 3", len(got))
	}
	for _, m := range c.Masters() {
		if got := c.ReplicasOf(m); len(got) != 1 {
			t.Errorf("master %s has %d replicas, want 1", m.Addr(), len(got))
		}
	}
	client := c.Client(t)
	for master, keys := range c.KeysOnEveryShard(1) {
		if err := client.Set(context.Background(), keys[0], "v", 0).Err(); err != nil {
			t.Errorf("SET %s on the shard of %s: %v", keys[0], master.Addr(), err)
		}
	}
}

func TestClusterWithPassword(t *testing.T) {
	t.Parallel()
	// redis-cli, the replicas (masterauth) and the harness's own queries
	// all need the password, or the cluster would not form.
	c := StartCluster(t, ClusterConfig{ReplicasPerMaster: 1, Extra: []string{"requirepass s3cret"}})
	ctx := context.Background()
	if err := c.Client(t).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the cluster client: %v", err)
	}
	node := c.MasterOf("k")
	if reply, err := dialRESP(t, node.Addr()).do(okTimeout, "PING"); err != nil || !strings.HasPrefix(reply, "-NOAUTH") {
		t.Fatalf("unauthenticated PING to %s = %q, %v; want -NOAUTH", node.Addr(), reply, err)
	}
}
