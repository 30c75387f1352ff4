package redisguard

import (
	"context"
	"time"
)

// While a node's new connections pause after a refusal for max clients, a
// command whose dial the pause refused (errDialPaused, see dialGate.take)
// asks the pool again for one of its connections, after pausedRerunDelay and
// whatever its retry budget, as long as the pool has connections and its
// context allows, up to maxPausedReruns times. The delay keeps a command
// that finds no idle connection from spinning while its pool's turns are
// free (PoolSize above the goroutines that call).
const (
	maxPausedReruns  = 10000
	pausedRerunDelay = 200 * time.Microsecond
)

// rerunsPaused reports whether a command refused a dial by the pause runs
// again (after the delay): the pool has connections to serve it.
func (n *node) rerunsPaused(ctx context.Context, reruns int) bool {
	return reruns < maxPausedReruns && n.hasPooledConn() && sleep(ctx, pausedRerunDelay) == nil
}
