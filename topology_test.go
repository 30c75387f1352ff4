package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	master := redistest.StartServer(t)
	replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()))
	sentinel := redistest.StartSentinel(t, "mymaster", master)
	redistest.Eventually(t, 10*time.Second, "the sentinel sees the replica", func() bool {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr()})
		defer sc.Close()
		replicas, err := sc.Replicas(context.Background(), "mymaster").Result()
		return err == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave"
	})

	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{
			MasterName: "mymaster",
			Addrs:      []string{sentinel.Addr()},
		},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
		Hooks:     rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, "the replica has the key", func() bool {
		return replica.Client(t).Get(ctx, "k").Val() == "before"
	})

	master.Kill()
	triggerDetection(c)
	rec.waitFor(t, "reconnecting", 1, 5*time.Second)
	killed := time.Now()
	if err := waitReadyWithin(c, 30*time.Second); err != nil {
		t.Fatalf("no new master: %v; events %v", err, lifecycle(rec.snapshot()))
	}
	t.Logf("ready on the promoted replica %v after the master was killed", time.Since(killed).Round(time.Millisecond))
	if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Fatalf("SET after the failover: %v", err)
	}
	if v := replica.Client(t).Get(ctx, "k").Val(); v != "after" {
		t.Fatalf("the promoted replica holds %q, want the write made after the failover", v)
	}
}

func TestClusterClientIsGuarded(t *testing.T) {
	t.Parallel()
	node := startOneNodeCluster(t)
	ctx := context.Background()

	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{node.Addr()}, IsClusterMode: true},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
		Hooks:     rec.hooks(),
	})
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	node.Kill()
	triggerDetection(c)
	rec.waitFor(t, "reconnecting", 1, 5*time.Second)
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET on a dead cluster succeeded")
	}
	node.Restart()
	if err := waitReadyWithin(c, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, "commands work again", func() bool {
		return c.Set(ctx, "k", "again", 0).Err() == nil
	})
}

func waitReadyWithin(c *Client, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.WaitReady(ctx)
}

// startOneNodeCluster starts a cluster of one node that holds every slot.
func startOneNodeCluster(t *testing.T) *redistest.Server {
	t.Helper()
	node := redistest.StartServer(t, "cluster-enabled yes")
	claimEverySlot(t, node)
	return node
}

// startClusterBehindProxy starts a one-node cluster holding every slot that
// announces a fault proxy's address, so that all cluster traffic, redirections
// included, passes the proxy.
func startClusterBehindProxy(t *testing.T) (*redistest.Server, *redistest.Proxy) {
	t.Helper()
	node := redistest.StartServer(t, "cluster-enabled yes")
	proxy := redistest.NewProxy(t, node.Addr())
	_, port, _ := net.SplitHostPort(proxy.Addr())
	if err := node.Client(t).ConfigSet(context.Background(), "cluster-announce-port", port).Err(); err != nil {
		t.Fatal(err)
	}
	claimEverySlot(t, node)
	return node, proxy
}

// claimEverySlot gives node, a cluster of its own, every hash slot and waits
// until it serves them.
func claimEverySlot(t *testing.T, node *redistest.Server) {
	t.Helper()
	admin := node.Client(t)
	ctx := context.Background()
	if err := admin.ClusterAddSlotsRange(ctx, 0, redistest.ClusterSlots-1).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, "cluster state ok", func() bool {
		info, _ := admin.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})
}

func TestClusterWritesAreNeverDoubled(t *testing.T) {
	t.Parallel()
	const n = 10
	node, proxy := startClusterBehindProxy(t)
	direct := node.Client(t)
	ctx := context.Background()

	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{proxy.Addr()}})
	defer raw.Close()
	for range n {
		if err := raw.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		_ = raw.Incr(ctx, "raw").Err()
	}
	rawCount, _ := direct.Get(ctx, "raw").Int()
	t.Logf("plain go-redis cluster client: %d INCR calls left the counter at %d", n, rawCount)
	if rawCount <= n {
		t.Fatalf("control: the cluster client left the counter at %d for %d calls: the fault did not trigger a resend", rawCount, n)
	}

	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}, IsClusterMode: true}})
	for range n {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "warm", 1, 0).Err(); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		_ = c.Incr(ctx, "guarded").Err()
	}
	if count, _ := direct.Get(ctx, "guarded").Int(); count > n {
		t.Fatalf("the counter is at %d after %d INCR calls through the guarded cluster client", count, n)
	}
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	proxy.ResetAfterWrite(1)
	if err := c.Get(ctx, "guarded").Err(); err != nil {
		t.Fatalf("GET through a dropped connection on the guarded cluster client: %v", err)
	}
}

func TestWrapClusterClient(t *testing.T) {
	t.Parallel()
	node, proxy := startClusterBehindProxy(t)
	direct := node.Client(t)
	c, err := Wrap(redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{proxy.Addr()}, MaxRetries: 3}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "warm", 1, 0).Err(); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		_ = c.Incr(ctx, "n").Err()
	}
	if n, _ := direct.Get(ctx, "n").Int(); n > 5 {
		t.Fatalf("a wrapped cluster client applied 5 INCR calls %d times", n)
	}
}

func TestClusterOptionsAreUsedAsGiven(t *testing.T) {
	t.Parallel()
	node := startOneNodeCluster(t)
	ctx := context.Background()
	given := &redis.ClusterOptions{Addrs: []string{node.Addr()}, ClusterStateReloadInterval: 7 * time.Second}
	c := newTestClient(t, Options{Cluster: given})
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.UniversalClient.(*redis.ClusterClient).Options().ClusterStateReloadInterval; got != 7*time.Second {
		t.Fatalf("ClusterStateReloadInterval %v, want the 7s given", got)
	}
	if given.MaxRetries != 0 || given.Dialer != nil {
		t.Fatal("New changed the ClusterOptions it was given")
	}
	for _, opts := range []Options{
		{Cluster: given, URL: "redis://" + node.Addr()},
		{Cluster: given, Redis: &redis.UniversalOptions{}},
		{Cluster: &redis.ClusterOptions{}},
		{Cluster: &redis.ClusterOptions{Addrs: []string{node.Addr()}, PoolSize: -1}},
	} {
		var oe *OptionError
		if _, err := New(opts); !errors.As(err, &oe) {
			t.Fatalf("New(%+v): %v, want an OptionError", opts, err)
		}
	}
}
