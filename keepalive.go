package redisguard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// keepalive sends a PING to every ready node each PingInterval, so that a
// dead server is noticed even when the application is idle.
func (c *Client) keepalive() {
	t := time.NewTicker(c.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, n := range c.readyNodes() {
			wg.Go(func() { n.keepalive() })
		}
		wg.Wait()
	}
}

func (c *Client) readyNodes() []*node {
	var nodes []*node
	if c.solo != nil {
		nodes = []*node{c.solo}
	} else {
		nodes = c.cluster.list()
	}
	ready := nodes[:0]
	for _, n := range nodes {
		if n.State() == StateReady && n.client.Load() != nil {
			ready = append(ready, n)
		}
	}
	return ready
}

// keepalive sends one PING through the node's guarded client. A failure that
// means the connection is lost is reported by the guard; a PING that outlives
// the connect timeout is reported here, since the guard takes an ended context
// for the caller's own doing.
func (n *node) keepalive() {
	ctx, cancel := context.WithTimeout(n.c.ctx, n.c.cfg.connectTimeout)
	defer cancel()
	err := n.client.Load().Ping(ctx).Err()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		n.lost(fmt.Errorf("keepalive PING: %w", err))
	}
}
