package health_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	ctx := context.Background()

	t.Run("redisguard", func(t *testing.T) {
		t.Parallel()
		res := health.Check(ctx, guarded(t, srv.Addr()))
		if res.Status != health.StatusHealthy || res.Err != nil || res.Message() != "" {
			t.Fatalf("Check: %+v", res)
		}
		if res.Latency <= 0 || res.Latency > time.Second || time.Since(res.Time) > time.Second {
			t.Fatalf("Latency %v, Time %v", res.Latency, res.Time)
		}
		if !res.HasState || res.State != redisguard.StateReady || !res.HasBreaker || res.Breaker != breaker.StateClosed {
			t.Fatalf("state %v (%v), breaker %v (%v)", res.State, res.HasState, res.Breaker, res.HasBreaker)
		}
		if len(res.Nodes) != 1 || res.Nodes[0].Addr != srv.Addr() || res.Nodes[0].State != redisguard.StateReady ||
			res.Nodes[0].Latency != res.Latency || res.Nodes[0].Err != nil || res.Nodes[0].Breaker != breaker.StateClosed {
			t.Fatalf("Nodes %+v, want the one server, ready, with the PING's latency", res.Nodes)
		}
	})
	t.Run("go-redis", func(t *testing.T) {
		t.Parallel()
		res := health.Check(ctx, plain(t, srv.Addr()))
		if res.Status != health.StatusHealthy || res.Latency <= 0 || res.HasState || res.HasBreaker {
			t.Fatalf("Check: %+v", res)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		res := health.Check(canceled, plain(t, srv.Addr()))
		if res.Status != health.StatusUnhealthy || !errors.Is(res.Err, context.Canceled) || res.Message() != "check canceled" {
			t.Fatalf("Check with a canceled context: %+v", res)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		t.Parallel()
		srv := redistest.StartServer(t)
		c := guarded(t, srv.Addr())
		srv.Kill()
		_ = c.Ping(ctx).Err() // the client notices
		redistest.Eventually(t, 2*time.Second, "reconnecting", func() bool { return c.State() == redisguard.StateReconnecting })
		res := health.Check(ctx, c)
		if res.Status != health.StatusUnhealthy || !errors.Is(res.Err, redisguard.ErrNotReady) || res.Latency != 0 ||
			res.State != redisguard.StateReconnecting || !reconnecting(res.Message()) {
			t.Fatalf("Check while reconnecting: %+v", res)
		}
		if len(res.Nodes) != 1 || res.Nodes[0].State != redisguard.StateReconnecting || res.Nodes[0].Message() != res.Message() {
			t.Fatalf("Nodes while reconnecting: %+v", res.Nodes)
		}
	})
}

func TestCheckIsBoundedByTheDefaultTimeout(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := guarded(t, srv.Addr())
	srv.Stop()
	t.Cleanup(srv.Continue)
	start := time.Now()
	res := health.Check(context.Background(), c) // no deadline of its own
	took := time.Since(start)
	if res.Status != health.StatusUnhealthy || res.Message() != "timeout after 1s" {
		t.Fatalf("Check on a paused server: %s %q (%v)", res.Status, res.Message(), res.Err)
	}
	if took < health.DefaultTimeout || took > health.DefaultTimeout+250*time.Millisecond {
		t.Fatalf("Check took %v", took)
	}
	if res.Latency < health.DefaultTimeout {
		t.Fatalf("Latency %v: the time until the failure", res.Latency)
	}
}
