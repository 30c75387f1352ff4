package redisguard

import (
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// String describes the client as go-redis does, without secrets: Redis<addr
// db:N> for a standalone client (the current master's address for Sentinel),
// RedisCluster<node, …> for a cluster.
func (c *Client) String() string {
	if c.solo != nil {
		db := 0
		if r, ok := c.UniversalClient.(*redis.Client); ok {
			db = r.Options().DB
		}
		return fmt.Sprintf("Redis<%s db:%d>", c.solo.address(), db)
	}
	return fmt.Sprintf("RedisCluster<%d nodes>", len(c.cluster.list()))
}

// Format prints String for every verb, %v, %+v and %#v included: the client
// holds options with passwords, which must never be printed.
func (c *Client) Format(f fmt.State, verb rune) {
	s := c.String()
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	_, _ = f.Write([]byte(s))
}

// Conn returns a go-redis Conn on one connection of a standalone or Sentinel
// client, guarded as the client's commands are (go-redis gives it the client's
// hooks). A cluster has no single connection: on a cluster client Conn returns
// nil; use MasterForKey or the node clients go-redis routes to.
func (c *Client) Conn() *redis.Conn {
	if r, ok := c.UniversalClient.(*redis.Client); ok {
		return r.Conn()
	}
	return nil
}

// AutoPipelineWithOptions is go-redis's, refusing full-duplex auto-pipelining:
// go-redis queues a full-duplex write before the hooks run, so a command the
// guard refuses would still reach the server. Half-duplex auto-pipelining is
// guarded per command.
func (c *Client) AutoPipelineWithOptions(config *redis.AutoPipelineOptions) (*redis.AutoPipeliner, error) {
	if config != nil && config.FullDuplex {
		return nil, ErrFullDuplex
	}
	return c.UniversalClient.AutoPipelineWithOptions(config)
}

// AsyncAutoPipelineWithOptions is go-redis's, refusing full-duplex
// auto-pipelining as AutoPipelineWithOptions does.
func (c *Client) AsyncAutoPipelineWithOptions(config *redis.AutoPipelineOptions) (*redis.AutoPipeliner, error) {
	if config != nil && config.FullDuplex {
		return nil, ErrFullDuplex
	}
	return c.UniversalClient.AsyncAutoPipelineWithOptions(config)
}

// checkFullDuplexConfig refuses a client whose default auto-pipelining is
// full-duplex.
func checkFullDuplexConfig(rdb redis.UniversalClient) error {
	var apo *redis.AutoPipelineOptions
	switch r := rdb.(type) {
	case *redis.Client:
		apo = r.Options().AutoPipelineOptions
	case *redis.ClusterClient:
		apo = r.Options().AutoPipelineOptions
	}
	if apo != nil && apo.FullDuplex {
		return optionErrorf("AutoPipelineOptions.FullDuplex", "is set: %v", ErrFullDuplex)
	}
	return nil
}

// isFailoverClient reports whether rdb is go-redis's Sentinel failover client,
// which resolves its master through its own dialer.
func isFailoverClient(rdb *redis.Client) bool {
	return rdb.Options().Addr == "FailoverClient"
}

// instrument hands rdb to Options.Instrument before the guard adds its hooks:
// go-redis runs hooks in the order they were added, the first outermost, so
// what Instrument adds sees every command the guard refuses, with its error.
func instrument(fn func(redis.UniversalClient) error, rdb redis.UniversalClient) error {
	if fn == nil {
		return nil
	}
	if err := fn(rdb); err != nil {
		return fmt.Errorf("redisguard: Options.Instrument: %w", err)
	}
	return nil
}

// guardedClients holds the go-redis clients a Client guards, from New or Wrap
// until Close, so that Wrap refuses one that is guarded already. A go-redis
// client cannot list its hooks, and a second guard on it would double them,
// supervise its server twice and count every command against two breakers:
// the mark has to live beside the client, and the client has no field for
// it. Only pointers of live clients are held.
var guardedClients sync.Map // redis.UniversalClient → struct{}

// markGuarded records that rdb is guarded, and reports false when it was
// already.
func markGuarded(rdb redis.UniversalClient) bool {
	_, dup := guardedClients.LoadOrStore(rdb, struct{}{})
	return !dup
}

// unmarkGuarded forgets rdb once its guard has closed.
func unmarkGuarded(rdb redis.UniversalClient) { guardedClients.Delete(rdb) }
