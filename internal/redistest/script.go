package redistest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RunEndlessScript makes the server run a Lua script that never ends, as a
// runaway script in production does: after 10 ms (busy-reply-threshold,
// set here) every other command gets a BUSY reply, which the breaker counts
// as a failure. It returns once another client gets BUSY. stop kills the
// script (SCRIPT KILL) and returns once it has ended; t.Cleanup calls it too.
//
// On a cluster node, stop the script well within the cluster's node
// timeout: a node busy with a script does not answer the cluster bus either.
func (s *Server) RunEndlessScript(t testing.TB) (stop func()) {
	t.Helper()
	ctx := context.Background()
	admin := s.Client(t)
	if err := admin.ConfigSet(ctx, "busy-reply-threshold", "10").Err(); err != nil {
		t.Fatal(err)
	}
	runner := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.password, ReadTimeout: -1, MaxRetries: -1})
	ran := make(chan error, 1)
	go func() { ran <- runner.Eval(ctx, "while true do end", nil).Err() }()
	stop = sync.OnceFunc(func() {
		_ = admin.ScriptKill(ctx).Err()
		<-ran
		_ = runner.Close()
	})
	t.Cleanup(stop)
	Eventually(t, 5*time.Second, "the script running", func() bool {
		err := admin.Ping(ctx).Err()
		return err != nil && strings.HasPrefix(err.Error(), "BUSY")
	})
	return stop
}
