package redisguard

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// After PoolSize failed dials (a server refusing connections, say),
	// go-redis's pool probes with a goroutine of its own that sleeps a second
	// between dials and notices a closed pool only when it wakes.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
