// Package guardtest holds test helpers that need a redisguard.Client, for the
// tests of the packages built on it (health, metrics). It is imported by tests
// only.
package guardtest

import (
	"context"
	"testing"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// OpenBreaker opens the breaker of c's server srv with a real fault: srv
// runs a script that never ends, and commands get BUSY replies, which the
// breaker counts as failures, until it opens. The script is killed then.
// keys are the keys the commands read ("k" when none): on a cluster, keys
// of srv's slots.
func OpenBreaker(t *testing.T, c *redisguard.Client, srv *redistest.Server, keys ...string) {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{"k"}
	}
	stop := srv.RunEndlessScript(t)
	defer stop()
	redistest.Eventually(t, 5*time.Second, "the breaker of "+srv.Addr()+" open", func() bool {
		for _, k := range keys {
			_ = c.Get(context.Background(), k).Err()
			if s, ok := c.Breaker(); ok && s.State == breaker.StateOpen {
				return true // a standalone or Sentinel client's
			}
			for _, n := range c.Nodes() {
				if n.Addr == srv.Addr() && n.Breaker.State == breaker.StateOpen {
					return true // a cluster node's
				}
			}
		}
		return false
	})
}
