package redisguard

import (
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

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
