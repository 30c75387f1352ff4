package redisguard

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// A cluster client runs each command on a node client of its own and retries a
// failed command itself (up to MaxRedirects), which the client's guard, wrapped
// around the whole cluster call, cannot see. nodeHook, added to every node client,
// gives each node the guard's dialing rules and hides from the cluster's retry
// loop the failures after which a write may already have been applied.
//
// The cluster's pipeline and transaction paths decide their retries inside
// go-redis, beyond any hook: a cluster pipeline whose connection breaks may be
// sent again by go-redis.
type nodeHook struct{ c *Client }

func (h nodeHook) DialHook(next redis.DialHook) redis.DialHook { return h.c.dial(next) }

func (h nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if IsConnectionSetup(cmd) {
			return h.c.handshakeFailed(ctx, next(ctx, cmd))
		}
		err := next(ctx, cmd)
		if err != nil && !readOnly(cmd) {
			switch classify(ctx, err) {
			case outcomeDropped, outcomeTimeout:
				return &notRetriedError{err}
			}
		}
		return err
	}
}

func (h nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if allConnectionSetup(cmds) {
			return h.c.handshakeFailed(ctx, next(ctx, cmds))
		}
		return next(ctx, cmds)
	}
}

// notRetriedError carries a node's error up to the guard without letting the
// cluster's retry loop recognise it as retryable: it deliberately has no Unwrap.
// The guard replaces it with the error it carries.
type notRetriedError struct{ err error }

func (e *notRetriedError) Error() string { return e.err.Error() }

// unwrapNotRetried returns the error a node reported, if err carries one.
func unwrapNotRetried(err error) error {
	if e, ok := err.(*notRetriedError); ok {
		return e.err
	}
	return err
}

// guardNodes installs nodeHook on every node of a cluster client. Nodes are
// created lazily, so a client wrapped before its first command gets it on all.
func (c *Client) guardNodes(rdb *redis.ClusterClient) {
	rdb.OnNewNode(func(node *redis.Client) {
		node.AddHook(nodeHook{c})
	})
}
