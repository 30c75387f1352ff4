package redisguard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

func TestQueueLimitWithPausedServer(t *testing.T) {
	t.Parallel()
	const limit = 50
	srv := redistest.StartServer(t)
	opts := quickOptions(srv.Addr())
	opts.QueueLimit = limit
	opts.OfflineQueue = true
	c := newTestClient(t, opts)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	// A command times out: the client notices the pause and stops sending.
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET on a paused server succeeded")
	}
	redistest.Eventually(t, 2*time.Second, "reconnecting", func() bool { return c.State() == StateReconnecting })

	var maxSeen atomic.Int64
	sampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-sampling:
				return
			default:
			}
			if n := int64(c.QueueLen()); n > maxSeen.Load() {
				maxSeen.Store(n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})

	results := make(chan error, limit)
	for range limit {
		go func() { results <- c.Get(ctx, "k").Err() }()
	}
	redistest.Eventually(t, 2*time.Second, "the queue fills", func() bool { return c.QueueLen() == limit })

	start := time.Now()
	cmd := c.Get(ctx, "k")
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("the command beyond the limit waited %v", took)
	}
	if !errors.Is(cmd.Err(), ErrQueueFull) {
		t.Fatalf("command beyond the limit: %v, want ErrQueueFull", cmd.Err())
	}
	pipe := c.Pipeline()
	pipe.Get(ctx, "k")
	if _, err := pipe.Exec(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("pipeline beyond the limit: %v, want ErrQueueFull", err)
	}

	srv.Continue()
	for range limit {
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("admitted command: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("admitted commands did not complete after the server resumed")
		}
	}
	close(sampling)
	sampler.Wait()
	if m := maxSeen.Load(); m > limit {
		t.Fatalf("QueueLen reached %d, above the limit %d", m, limit)
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after every command completed", n)
	}
}
