package health

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// checkCluster checks a *redisguard.Client that guards a cluster: the
// client's own state, then a PING to every node of the slot map at once,
// each through the node's own guard (a node that is down, or whose breaker is
// open, refuses it at once). The check passes while the client is ready and
// some node answers; the nodes that do not are reported in Result.Nodes, not
// failed, since the client serves the other nodes' slots meanwhile.
func checkCluster(ctx context.Context, c *redisguard.Client, cc *redis.ClusterClient, budget time.Duration) Result {
	res := observe(c)
	if err := notServing(ctx, c, res); err != nil {
		return failed(res, err)
	}
	start := time.Now()
	pings, mapErr := pingNodes(ctx, cc, budget/4)
	res = observe(c)
	answered, failures := res.mergePings(ctx, pings, budget)
	if err := notServing(ctx, c, res); err != nil {
		return failed(res, err)
	}
	if !answered {
		res.Latency = time.Since(start)
		if mapErr != nil {
			failures = append(failures, timedOut(ctx, mapErr, res.Latency, budget))
		}
		return failed(res, &noNodeAnsweredError{errs: failures})
	}
	res.Status = StatusHealthy
	res.Time = time.Now()
	return res
}

// mergePings completes the nodes of res with the outcome of their PINGs,
// keeping only the nodes of the slot map (Client.Nodes may still list
// servers it dropped), and sets res.Latency to the slowest PING that
// succeeded. It reports whether any node answered, and returns the failures
// of those that did not, each naming its node.
func (res *Result) mergePings(ctx context.Context, pings map[string]nodePing, budget time.Duration) (answered bool, failures []error) {
	if len(pings) > 0 {
		inMap := res.Nodes[:0]
		for _, n := range res.Nodes {
			if _, ok := pings[n.Addr]; ok {
				inMap = append(inMap, n)
			}
		}
		res.Nodes = inMap
	}
	for i := range res.Nodes {
		n := &res.Nodes[i]
		p, pinged := pings[n.Addr]
		switch {
		case n.Err != nil: // the client's own view: not ready, or its breaker open
		case !pinged:
			continue // the slot map could not be read: the client's view is all there is
		case p.err != nil:
			n.Err = timedOut(ctx, p.err, p.latency, budget)
		default:
			n.Latency = p.latency
			res.Latency = max(res.Latency, p.latency)
			answered = true
			continue
		}
		failures = append(failures, fmt.Errorf("%s: %w", n.Addr, n.Err))
	}
	return answered, failures
}

// nodePing is the outcome of one node's PING.
type nodePing struct {
	latency time.Duration
	err     error
	done    bool
}

// pingNodes PINGs every node of the cluster's slot map at once and returns
// each node's outcome by address, once every PING returned or ctx ended: a
// PING still waiting then failed with ctx's error. The slot map is read
// again first, from one node; when that takes longer than mapBudget (the
// node asked is paused) the map the client has is used. The error says why
// the slot map could not be read, or is ctx's when it ended first.
func pingNodes(ctx context.Context, cc *redis.ClusterClient, mapBudget time.Duration) (map[string]nodePing, error) {
	var mu sync.Mutex
	pings := make(map[string]nodePing)
	start := time.Now()
	mapped := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				mapped <- &pingPanicError{value: v}
			}
		}()
		mapCtx, cancel := context.WithTimeout(ctx, mapBudget)
		defer cancel()
		mapped <- cc.ForEachShard(mapCtx, func(_ context.Context, node *redis.Client) error {
			addr := node.Options().Addr
			mu.Lock()
			pings[addr] = nodePing{}
			mu.Unlock()
			latency, err := ping(ctx, node) // under the check's budget, not the map's
			mu.Lock()
			pings[addr] = nodePing{latency: latency, err: err, done: true}
			mu.Unlock()
			return nil
		})
	}()
	var err error
	select {
	case err = <-mapped:
	case <-ctx.Done():
		err = ctx.Err() // the slot map may not have been read yet
	}
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string]nodePing, len(pings))
	for addr, p := range pings {
		if !p.done {
			p.latency, p.err = time.Since(start), ctx.Err()
		}
		out[addr] = p
	}
	return out, err
}
