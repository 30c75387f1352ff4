package redisguard

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// clusterSideBySide is a real cluster of 3 masters with a replica each, a
// guarded client and a plain go-redis cluster client, and the same load on
// both, on keys of every shard.
type clusterSideBySide struct {
	cluster     *redistest.Cluster
	keys        redistest.ShardKeys
	guarded     *Client
	rec         *recorder
	guardedLoad *redistest.Load
	plainLoad   *redistest.Load
}

func startClusterSideBySide(t *testing.T, seeds func(*redistest.Cluster) []string) *clusterSideBySide {
	t.Helper()
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: 2 * time.Second})
	addrs := cl.Addrs()
	if seeds != nil {
		addrs = seeds(cl)
	}
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: addrs, IsClusterMode: true},
		Hooks: rec.hooks(),
	})
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = plain.Close() })
	keys := cl.KeysOnEveryShard(2)
	cfg := redistest.LoadConfig{Keys: keys.All(), Goroutines: len(keys.All()), Pause: 2 * time.Millisecond, Timeout: time.Second}
	s := &clusterSideBySide{cluster: cl, keys: keys, guarded: c, rec: rec}
	s.guardedLoad = redistest.StartLoad(t, c, cfg)
	s.plainLoad = redistest.StartLoad(t, plain, cfg)
	time.Sleep(500 * time.Millisecond) // both warm, every node known
	return s
}

// report logs both clients' outcomes on keys over [from, to) and returns the
// guarded client's.
func (s *clusterSideBySide) report(t *testing.T, what string, from, to time.Time, keys []string) redistest.Outcome {
	t.Helper()
	g := s.guardedLoad.Outcome(from, to, keys...)
	p := s.plainLoad.Outcome(from, to, keys...)
	t.Logf("%s: plain go-redis %v", what, p)
	t.Logf("%s: redisguard     %v", what, g)
	return g
}

func (s *clusterSideBySide) neverClosed(t *testing.T) {
	t.Helper()
	if st := s.guarded.State(); st == StateClosed {
		t.Fatalf("the guarded client closed: %v", lifecycle(s.rec.snapshot()))
	}
	for _, e := range s.rec.snapshot() {
		if e.kind == "end" {
			t.Fatalf("the guarded client gave up: %v", e)
		}
	}
}

func TestClusterMasterKilledAndLeftDown(t *testing.T) {
	s := startClusterSideBySide(t, nil)
	victim := s.cluster.MasterOf(s.keys.All()[0])
	victimKeys := s.keys[victim]
	others := s.keys.Except(victim)

	killed := time.Now()
	victim.Kill()
	time.Sleep(25 * time.Second)
	end := time.Now()

	g := s.report(t, "other shards, 25 s after the kill", killed, end, others)
	if r := g.SuccessRatio(); r < 0.99 {
		t.Errorf("other shards: %.2f%% succeeded, want ≥ 99%%", 100*r)
	}
	for _, key := range victimKeys {
		gAt, gOK := s.guardedLoad.FirstSuccess(killed.Add(100*time.Millisecond), key)
		pAt, pOK := s.plainLoad.FirstSuccess(killed.Add(100*time.Millisecond), key)
		t.Logf("key %s of the killed master: served again after %v (plain go-redis: %v, %v)", key, gAt.Sub(killed).Round(time.Millisecond), pAt.Sub(killed).Round(time.Millisecond), pOK)
		if !gOK || gAt.Sub(killed) > 15*time.Second {
			t.Errorf("key %s of the killed master: not served again within 15 s of the kill", key)
		}
	}
	s.neverClosed(t)
}

func TestClusterMasterPaused(t *testing.T) {
	s := startClusterSideBySide(t, nil)
	victim := s.cluster.MasterOf(s.keys.All()[0])
	others := s.keys.Except(victim)

	paused := time.Now()
	victim.Stop()
	time.Sleep(6 * time.Second)
	victim.Continue()
	resumed := time.Now()

	g := s.report(t, "other shards, during the 6 s pause", paused, resumed, others)
	if r := g.SuccessRatio(); r < 0.98 {
		t.Errorf("other shards: %.2f%% succeeded, want ≥ 98%%", 100*r)
	}
	for _, key := range s.keys[victim] {
		if _, ok := s.guardedLoad.FirstSuccess(resumed, key); !ok {
			s.guardedLoad.WaitSuccess(t, resumed, 10*time.Second, key)
		}
	}
	s.neverClosed(t)
}

func TestClusterOnlySeedKilled(t *testing.T) {
	var seed *redistest.Server
	s := startClusterSideBySide(t, func(cl *redistest.Cluster) []string {
		seed = cl.Masters()[0]
		return []string{seed.Addr()}
	})
	others := s.keys.Except(seed)

	killed := time.Now()
	seed.Kill()
	time.Sleep(25 * time.Second) // longer than the default schedule, which gives up after 18 s
	g := s.report(t, "other shards, 25 s after the only seed was killed", killed, time.Now(), others)
	if r := g.SuccessRatio(); r < 0.98 {
		t.Errorf("other shards: %.2f%% succeeded, want ≥ 98%%", 100*r)
	}
	s.neverClosed(t)
}

func TestClusterTwoMastersKilledThenRestarted(t *testing.T) {
	s := startClusterSideBySide(t, nil)
	masters := s.cluster.Masters()
	victims := masters[:2]
	for _, m := range victims {
		m.Kill()
	}
	time.Sleep(3 * time.Second)
	for _, m := range victims {
		m.Restart()
	}
	s.cluster.WaitState(t, "ok", 30*time.Second)
	ok := time.Now()
	for _, key := range s.keys.All() {
		at := s.guardedLoad.WaitSuccess(t, ok, 15*time.Second, key)
		if d := at.Sub(ok); d > 5*time.Second {
			t.Errorf("key %s served %v after cluster_state:ok, want within 5 s", key, d.Round(time.Millisecond))
		}
	}
	time.Sleep(time.Until(ok.Add(5 * time.Second)))
	g := s.report(t, "every shard, the 5 s after cluster_state:ok", ok, ok.Add(5*time.Second), s.keys.All())
	if r := g.SuccessRatio(); r < 0.99 {
		t.Errorf("every shard after cluster_state:ok: %.2f%% succeeded, want ≥ 99%%", 100*r)
	}
	s.neverClosed(t)
}

func TestClusterReplicaKilled(t *testing.T) {
	s := startClusterSideBySide(t, nil)
	replica := s.cluster.Replicas()[0]
	killed := time.Now()
	replica.Kill()
	time.Sleep(5 * time.Second)
	g := s.report(t, "every shard, 5 s after a replica was killed", killed, time.Now(), s.keys.All())
	if g.Failed != 0 {
		t.Errorf("%d commands failed after a replica was killed, want none", g.Failed)
	}
	s.neverClosed(t)
}

// A pipeline or transaction whose connection to one node breaks after the
// write is never sent again when it holds a write: the same rule as single
// commands, through the fault proxy in front of one node of a real cluster.
func TestClusterPipelinesAreNeverDoubled(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	victim := cl.Masters()[0]
	proxy := redistest.NewProxy(t, victim.Addr())
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(proxy.Addr())
	if err := victim.Client(t).ConfigSet(ctx, "cluster-announce-port", port).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, "every node announces the proxy", func() bool {
		for _, n := range cl.Nodes() {
			nodes, err := n.Client(t).ClusterNodes(ctx).Result()
			if err != nil || !strings.Contains(nodes, ":"+port+"@") {
				return false
			}
		}
		return true
	})
	var seeds []string
	for _, m := range cl.Masters()[1:] {
		seeds = append(seeds, m.Addr())
	}
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprint("p{", i, "}"); cl.MasterOf(k) == victim {
			key = k
		}
	}
	direct := victim.Client(t)
	const n, rounds = 5, 10

	run := func(name string, rdb redis.UniversalClient, tx bool) {
		counter := key + ":" + name
		for range rounds {
			// Warm the connections pipelines use, so that the reset hits
			// the pipeline and not a new connection's handshake.
			redistest.Eventually(t, 10*time.Second, "the node answers", func() bool {
				_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, key+":warm", 1, 0)
					return nil
				})
				if err != nil {
					return false
				}
				_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, key+":warm", 1, 0)
					return nil
				})
				return err == nil
			})
			proxy.ResetAfterWrite(1)
			fn := func(p redis.Pipeliner) error {
				for range n {
					p.Incr(ctx, counter)
				}
				return nil
			}
			if tx {
				_, _ = rdb.TxPipelined(ctx, fn)
			} else {
				_, _ = rdb.Pipelined(ctx, fn)
			}
		}
		got, _ := direct.Get(ctx, counter).Int()
		t.Logf("%s: %d rounds of %d pipelined INCRs through a connection reset after the write: counter %d", name, rounds, n, got)
		if name == "plain-pipeline" && got <= n*rounds {
			t.Errorf("control: %s left the counter at %d for %d calls: the fault did not trigger a resend", name, got, n*rounds)
		}
		if strings.HasPrefix(name, "guarded") && got > n*rounds {
			t.Errorf("%s: the counter is at %d after %d INCR calls: a pipeline was sent twice", name, got, n*rounds)
		}
	}
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	defer plain.Close()
	run("plain-pipeline", plain, false)
	run("plain-tx", plain, true)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: seeds, IsClusterMode: true}})
	run("guarded-pipeline", c, false)
	run("guarded-tx", c, true)
}
