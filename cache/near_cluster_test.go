package cache_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// keyPerMaster returns one key of the Cache (without prefix) per master.
func keyPerMaster(cl *redistest.Cluster, prefix string) map[*redistest.Server]string {
	out := map[*redistest.Server]string{}
	for i := 0; len(out) < len(cl.Masters()); i++ {
		k := itoa(i)
		if m := cl.MasterOf(prefix + k); out[m] == "" {
			out[m] = k
		}
	}
	return out
}

// On a 3-master cluster, with Options.Near alone over a redisguard client,
// keys of every shard are served from memory, and another instance's write
// of each is seen within 50 ms at p99.
func TestNearOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	rdb := guardedReady(t, redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	reader, near := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "c:"})
	if s := near.Stats(); s.Conns != 3 || s.ConnsUp != 3 {
		t.Fatalf("near stats %+v: want one invalidation connection per master", s)
	}
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "c:"})
	measureWriteSeen(t, "cluster, keys on 3 shards", reader, writer, 40, slices.Collect(maps.Values(keyPerMaster(cl, "c:")))...)
	reader.Close()
}

// A master killed and its replica promoted: its keys are not served from
// memory while its connection is down, the other shards' keys still are, and
// a write made on the promoted replica is seen within 1 s of it.
func TestNearClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	ctx := context.Background()
	rdb := guardedReady(t, redisguard.Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs()}})
	reader, near := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "fo:"})
	writer := newCache(t, cl.Client(t), cache.Options{Prefix: "fo:"})
	keys := keyPerMaster(cl, "fo:")
	victim := cl.Masters()[0]
	key := keys[victim]
	never := func(context.Context, string) (product, error) { return product{}, errors.New("the loader ran") }
	old := product{ID: key, Price: 1}
	if err := writer.Set(ctx, key, old); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := writer.Set(ctx, k, product{ID: k}); err != nil && k != key {
			t.Fatal(err)
		}
		nearHit(t, reader, k, never)
	}
	nearHit(t, reader, key, never)
	victim.Kill()
	redistest.Eventually(t, 5*time.Second, "the victim's connection down", func() bool {
		s := near.Stats()
		return s.ConnsUp == s.Conns-1
	})
	for m, k := range keys {
		if m != victim {
			nearHit(t, reader, k, never) // the other shards are still served from memory
		}
	}
	cl.WaitFailover(t, victim, 30*time.Second)
	// Another instance, started after the failover, writes on the promoted
	// replica.
	writer = newCache(t, cl.Client(t), cache.Options{Prefix: "fo:"})
	seen := seenAfterFailover(t, reader, writer, key, old, product{ID: key, Price: 2})
	t.Logf("failover: the write on the promoted replica seen after %v; %+v", seen.Round(time.Microsecond), near.Stats())
	waitServing(t, near)
	nearHit(t, reader, key, never)
}

// A manual failover (CLUSTER FAILOVER) leaves the old master running, and
// its invalidation connection open, while its slots' writes go to the
// promoted replica from then on. Another instance writes on the promoted
// replica from the moment it takes writes: every write it acknowledges
// reaches the tier (its invalidation applied within 2 s, not only once the
// slot map is read again, nor never), and no read that begins after it was
// applied is served the value before from memory. Twice, there and back.
// Beside it, a Cache without a near tier reads Redis: the old master answers
// reads until it hears of the promotion, which both readers may see (logged,
// not the tier's doing).
func TestNearClusterManualFailoverServesNoOverwrittenValue(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	ctx := context.Background()
	reader, near := nearReader(t, cl.Client(t), cache.NearOptions{}, cache.Options{Prefix: "mf:"})
	redistest.Eventually(t, 5*time.Second, "one invalidation connection per master and per replica", func() bool {
		s := near.Stats()
		return s.Conns == 6 && s.ConnsUp == 6
	})
	plainReader := newCache(t, cl.Client(t), cache.Options{Prefix: "mf:"})
	const key = "a"
	version := 0
	for round := range 2 {
		victim := cl.MasterOf("mf:" + key)
		promoted := cl.ReplicaOf(victim)
		// The writer talks to the promoted replica alone: its SETs are
		// refused (MOVED) until the promotion, and acknowledged from its
		// first moment as a master.
		writer := promoted.Client(t)
		nearHit(t, reader, key, func(context.Context, string) (product, error) { return product{ID: key}, nil })
		admin := promoted.Client(t)
		failover := make(chan error, 1)
		go func() { failover <- admin.Do(ctx, "cluster", "failover").Err() }()
		var worst writeOnNodeResult
		var promotedAt time.Time // the first write acknowledged
		for start := time.Now(); promotedAt.IsZero() || time.Since(promotedAt) < time.Second; {
			if promotedAt.IsZero() && time.Since(start) > 30*time.Second {
				t.Fatalf("round %d: the promoted replica took no write in 30 s", round)
			}
			version++
			r, acked := writeOnNode(t, near, writer, reader, plainReader, "mf:", key, version)
			if !acked {
				time.Sleep(100 * time.Microsecond) // a replica still
				continue
			}
			if promotedAt.IsZero() {
				promotedAt = time.Now()
			}
			worst = worst.max(r)
		}
		if err := <-failover; err != nil {
			t.Fatalf("CLUSTER FAILOVER: %v", err)
		}
		t.Logf("round %d: %d SETs tried in all; %v; %+v", round, version, worst, near.Stats())
		cl.WaitSettled(t, 30*time.Second)
	}
}

// A slot migrated from one master to another (MIGRATE of its keys, then
// CLUSTER SETSLOT NODE): another instance writing on the new master from the
// moment it owns the slot is seen as with any write: its invalidation
// reaches the tier, and no read begun after that is served the value before
// from memory; the tier serves the key from memory again afterwards.
func TestNearClusterSlotMigration(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	ctx := context.Background()
	reader, near := nearReader(t, cl.Client(t), cache.NearOptions{}, cache.Options{Prefix: "sm:"})
	plainReader := newCache(t, cl.Client(t), cache.Options{Prefix: "sm:"})
	const key = "a"
	load := func(context.Context, string) (product, error) { return product{ID: key}, nil }
	from := cl.MasterOf("sm:" + key)
	var to *redistest.Server
	for _, m := range cl.Masters() {
		if m != from {
			to = m
			break
		}
	}
	slot := redistest.KeySlot("sm:" + key)
	nearHit(t, reader, key, load)
	moves := near.Stats().TopologyChanges
	src, dst := from.Client(t), to.Client(t)
	for _, step := range []struct {
		node *redis.Client
		args []any
	}{
		{dst, []any{"cluster", "setslot", slot, "importing", cl.NodeID(from)}},
		{src, []any{"cluster", "setslot", slot, "migrating", cl.NodeID(to)}},
		{src, []any{"migrate", "127.0.0.1", to.Port(), "", 0, 5000, "keys", "sm:" + key}},
		{dst, []any{"cluster", "setslot", slot, "node", cl.NodeID(to)}},
		{src, []any{"cluster", "setslot", slot, "node", cl.NodeID(to)}},
	} {
		if err := step.node.Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}
	migrated := time.Now()
	var worst writeOnNodeResult
	for version := 1; time.Since(migrated) < time.Second; version++ {
		r, acked := writeOnNode(t, near, dst, reader, plainReader, "sm:", key, version)
		if !acked {
			t.Fatalf("write %d on the new master refused", version)
		}
		worst = worst.max(r)
	}
	t.Logf("slot %d migrated: %v; %+v", slot, worst, near.Stats())
	redistest.Eventually(t, 5*time.Second, "the slot map read again", func() bool { return near.Stats().TopologyChanges > moves })
	nearHit(t, reader, key, load)
}
