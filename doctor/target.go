package doctor

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// target is one server to audit.
type target struct {
	rdb      redis.UniversalClient
	options  *redis.Options // nil when the client does not expose them
	topology topology
	name     string // the server's address, when the audit covers several
}

// sharded is a client whose servers can be reached one by one: a cluster
// client (every master and replica) or a ring.
type sharded interface {
	ForEachShard(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error
}

// failoverAddr is the Addr go-redis gives the options of a Sentinel failover
// client, whose dialer asks Sentinel for the master.
const failoverAddr = "FailoverClient"

// targets returns the servers behind rdb: one for a standalone or failover
// client, every node for a cluster client or a ring. A *redisguard.Client is
// audited through the go-redis client it guards, whose commands still pass
// the guard (its hooks are on that client).
func targets(ctx context.Context, rdb redis.UniversalClient) ([]target, error) {
	if guarded, ok := rdb.(*redisguard.Client); ok {
		rdb = guarded.UniversalClient
	}
	if shards, ok := rdb.(sharded); ok {
		kind := ring
		if _, ok := rdb.(*redis.ClusterClient); ok {
			kind = cluster
		}
		var (
			mu    sync.Mutex
			nodes []target
		)
		// ForEachShard may load the cluster's slot map first, through node
		// clients that need not honour ctx: bound the wait here.
		done := make(chan error, 1)
		go func() {
			done <- shards.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error {
				opt := node.Options()
				mu.Lock()
				defer mu.Unlock()
				nodes = append(nodes, target{rdb: node, options: opt, topology: kind, name: opt.Addr})
				return nil
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		slices.SortFunc(nodes, func(a, b target) int { return strings.Compare(a.name, b.name) })
		if len(nodes) == 1 {
			nodes[0].name = ""
		}
		return nodes, nil
	}
	t := target{rdb: rdb, topology: standalone}
	if c, ok := rdb.(interface{ Options() *redis.Options }); ok {
		t.options = c.Options()
		if t.options.Addr == failoverAddr {
			t.topology = sentinel
		}
	}
	return []target{t}, nil
}
