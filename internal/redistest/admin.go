package redistest

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// adminTimeout bounds each query the harness sends a server, so that a
// server frozen between the check that it runs and the query cannot hang
// a test.
const adminTimeout = 2 * time.Second

// adminOptions are the options of the harness's own connection to s, with
// which it asks a cluster node or a Sentinel group's server how things
// stand: no retries, so that every answer is the server's own, and a
// bound on every query.
func adminOptions(s *Server) *redis.Options {
	return &redis.Options{
		Addr:         s.Addr(),
		Password:     s.password,
		MaxRetries:   -1,
		DialTimeout:  adminTimeout,
		ReadTimeout:  adminTimeout,
		WriteTimeout: adminTimeout,
		PoolSize:     2,
	}
}

// adminContext returns the context of one query the harness asks.
func adminContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), adminTimeout)
}
