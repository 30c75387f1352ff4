package doctor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/doctor"
	"github.com/redisguard/redisguard/internal/redistest"
)

// noSyncDelay lets a replica's first synchronisation start at once instead
// of after the default 5 s.
const noSyncDelay = "repl-diskless-sync-delay 0"

func TestSentinelManagedMaster(t *testing.T) {
	t.Parallel()
	master := redistest.StartServer(t, noSyncDelay)
	replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()))
	sentinel := redistest.StartSentinel(t, "mymaster", master)
	admin := client(t, master.Addr(), "", "")
	ctx := context.Background()
	redistest.Eventually(t, 10*time.Second, "the replica is connected", func() bool {
		info, _ := admin.Info(ctx, "replication").Result()
		return strings.Contains(info, "connected_slaves:1")
	})

	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{sentinel.Addr()},
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	report := doctor.Run(ctx, rdb, doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	want(t, checks, doctor.IDReplication, doctor.Pass)
	if d := checks[doctor.IDReplication].Detail; !strings.Contains(d, "1 replica") || !strings.Contains(d, "Sentinel") {
		t.Errorf("replication: %q, want one replica and Sentinel", d)
	}
	// The connection without credentials went where Sentinel said: the master.
	want(t, checks, doctor.IDAuth, doctor.Fail)
	if d := checks[doctor.IDTLS].Detail; !strings.Contains(d, master.Addr()) {
		t.Errorf("tls: %q, want the master's address %s", d, master.Addr())
	}
	_ = replica
}

func TestClientOnAReplica(t *testing.T) {
	t.Parallel()
	master := redistest.StartServer(t, noSyncDelay)
	replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()))
	rdb := client(t, replica.Addr(), "", "")
	redistest.Eventually(t, 10*time.Second, "the replica's link is up", func() bool {
		info, _ := rdb.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	checks := byID(t, doctor.Run(context.Background(), rdb, doctor.Options{}))
	want(t, checks, doctor.IDReplication, doctor.Warn)
	if d := checks[doctor.IDReplication].Detail; !strings.Contains(d, "replica") {
		t.Errorf("replication: %q, want it to say the server is a replica", d)
	}
}

// A cluster client is audited node by node: a master holding every slot and
// its replica.
func TestClusterIsAuditedNodeByNode(t *testing.T) {
	t.Parallel()
	// The master lists its replica in CLUSTER SLOTS once the replica's
	// replication offset is above 0: a PING to the replicas every second
	// moves it without a write.
	master := redistest.StartServer(t, "cluster-enabled yes", "repl-ping-replica-period 1", noSyncDelay)
	replica := redistest.StartServer(t, "cluster-enabled yes")
	ctx := context.Background()
	admin, replicaAdmin := client(t, master.Addr(), "", ""), client(t, replica.Addr(), "", "")
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	if err := replicaAdmin.ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(master.Port())).Err(); err != nil {
		t.Fatal(err)
	}
	masterID, err := admin.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, "the replica knows the master", func() bool {
		return replicaAdmin.Do(ctx, "CLUSTER", "REPLICATE", masterID).Err() == nil
	})
	redistest.Eventually(t, 20*time.Second, "the replica replicates the master", func() bool {
		info, _ := replicaAdmin.Info(ctx, "replication").Result()
		state, _ := admin.ClusterInfo(ctx).Result()
		// go-redis finds the nodes with CLUSTER SLOTS: [start, end, master, replica…].
		slots, _ := admin.Do(ctx, "CLUSTER", "SLOTS").Slice()
		listed := len(slots) == 1
		if listed {
			entry, _ := slots[0].([]any)
			listed = len(entry) == 4
		}
		return strings.Contains(info, "master_link_status:up") && strings.Contains(state, "cluster_state:ok") && listed
	})

	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{master.Addr()},
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	report := doctor.Run(ctx, rdb, doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	perNode := map[string]map[string]doctor.Check{}
	for _, c := range report.Checks {
		if perNode[c.Node] == nil {
			perNode[c.Node] = map[string]doctor.Check{}
		}
		perNode[c.Node][c.ID] = c
	}
	if len(perNode) != 2 || perNode[master.Addr()] == nil || perNode[replica.Addr()] == nil {
		t.Fatalf("checks for nodes %v, want %s and %s", keysOf(perNode), master.Addr(), replica.Addr())
	}
	want(t, perNode[master.Addr()], doctor.IDReplication, doctor.Pass)
	if d := perNode[master.Addr()][doctor.IDReplication].Detail; !strings.Contains(d, "the cluster fails over") {
		t.Errorf("master's replication: %q", d)
	}
	want(t, perNode[replica.Addr()], doctor.IDReplication, doctor.Pass)
	want(t, perNode[replica.Addr()], doctor.IDAuth, doctor.Fail)

	var table strings.Builder
	if err := report.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if header, _, _ := strings.Cut(table.String(), "\n"); !strings.Contains(header, "NODE") {
		t.Errorf("table header %q has no NODE column", header)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A *redisguard.Client is audited through the client it guards: the checks
// that need the connection's options (auth, tls) run too.
func TestGuardedClient(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	rdb, err := redisguard.New(redisguard.Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, Password: hardenedPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	report := doctor.Run(ctx, rdb, doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	want(t, checks, doctor.IDAuth, doctor.Pass)
	want(t, checks, doctor.IDTLS, doctor.Pass)
	if d := checks[doctor.IDAuth].Detail; !strings.Contains(d, "NOAUTH") {
		t.Errorf("auth: %q, want the refusal of the connection without credentials", d)
	}
}
