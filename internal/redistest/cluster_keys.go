package redistest

import (
	"fmt"
	"slices"
)

// ShardKeys holds keys by the master serving them, as KeysOnEveryShard
// found them.
type ShardKeys map[*Server][]string

// All returns every key, sorted.
func (k ShardKeys) All() []string {
	return k.Except()
}

// Except returns the keys of every shard but those of masters, sorted: the
// keys a fault on those masters must not touch.
func (k ShardKeys) Except(masters ...*Server) []string {
	var keys []string
	for master, shardKeys := range k {
		if !slices.Contains(masters, master) {
			keys = append(keys, shardKeys...)
		}
	}
	slices.Sort(keys)
	return keys
}

// KeysOnEveryShard returns n keys for every master serving slots now, so
// that a test can load every shard and tell the shards apart, for example
// with Load.Outcome(from, to, keys.Except(victim)...). The keys are the
// same in every run with the same slot map.
func (c *Cluster) KeysOnEveryShard(n int) ShardKeys {
	c.t.Helper()
	if n < 1 {
		c.t.Fatalf("redistest: KeysOnEveryShard(%d): want at least one key per shard", n)
	}
	owners := c.currentOwners()
	masters := len(c.mastersIn(owners))
	keys := make(ShardKeys, masters)
	full := 0
	// Every master owns a slot, and a million keys cover each of the
	// 16384 slots many times over.
	const candidates = 1 << 20
	for i := 0; full < masters; i++ {
		if i == candidates {
			c.t.Fatalf("redistest: KeysOnEveryShard(%d): no %d keys for every shard among %d candidates", n, n, candidates)
		}
		key := fmt.Sprintf("key:%d", i)
		owner := owners[KeySlot(key)]
		if owner < 0 {
			continue
		}
		master := c.nodes[owner]
		if len(keys[master]) < n {
			keys[master] = append(keys[master], key)
			if len(keys[master]) == n {
				full++
			}
		}
	}
	return keys
}
