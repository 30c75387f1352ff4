package redisguard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A server that reloads its data set answers every command with LOADING until
// it is done: the breaker opens on those replies, refuses while open, and
// closes once the server serves again. The reload is a real one: DEBUG RELOAD
// of 30,000 keys with a key-load-delay of 100 µs each, the server answering
// other clients every KiB it loads. Plain go-redis, side by side, gets the
// same LOADING replies after its retries.
func TestBreakerOpensWhileTheServerLoads(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "enable-debug-command yes", "loading-process-events-interval-bytes 1024")
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "DEBUG", "POPULATE", 30000).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "key-load-delay", "100").Err(); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	c := newTestClient(t, breakerTestOptions(srv.Addr(), rec))
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = plain.Close() })
	if err := plain.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	reloader := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: -1, MaxRetries: -1})
	t.Cleanup(func() { _ = reloader.Close() })
	reloaded := make(chan error, 1)
	go func() { reloaded <- reloader.Do(ctx, "DEBUG", "RELOAD").Err() }()
	redistest.Eventually(t, 5*time.Second, "the server loading", func() bool {
		err := admin.Get(ctx, "key:1").Err()
		return err != nil && strings.HasPrefix(err.Error(), "LOADING")
	})
	loadingFrom := time.Now()
	plainErr := plain.Get(ctx, "key:1").Err()

	stop := hammer(c, 10, 5*time.Millisecond)
	openedAt := rec.waitFor(t, "breaker", 1, 5*time.Second).at
	stop()
	t.Logf("open %v after the server began loading; plain go-redis meanwhile: %v", openedAt.Sub(loadingFrom).Round(time.Millisecond), plainErr)
	if plainErr == nil || !strings.HasPrefix(plainErr.Error(), "LOADING") {
		t.Errorf("plain go-redis during the reload: %v, want LOADING", plainErr)
	}
	if err := c.Get(ctx, "key:1").Err(); !errors.Is(err, breaker.ErrOpen) {
		select {
		case <-reloaded:
			t.Fatalf("the reload ended before the breaker could be checked: GET %v", err)
		default:
		}
		t.Fatalf("GET while open: %v, want breaker.ErrOpen", err)
	}

	if err := <-reloaded; err != nil {
		t.Fatalf("DEBUG RELOAD: %v", err)
	}
	loaded := time.Now()
	t.Logf("the reload took %v", loaded.Sub(loadingFrom).Round(time.Millisecond))
	redistest.Eventually(t, 3*breakerOpenTimeout, "closed", func() bool {
		_ = c.Get(ctx, "key:1").Err()
		return statusOf(c).State == breaker.StateClosed
	})
	t.Logf("closed %v after the reload ended (OpenTimeout %v)", time.Since(loaded).Round(time.Millisecond), breakerOpenTimeout)
	if v, err := c.Get(ctx, "key:1").Result(); err != nil || v != "value:1" {
		t.Fatalf("GET after the reload: %q, %v", v, err)
	}
	if got := rec.breakerChanges(); len(got) < 3 || got[0] != "closed→open" || got[len(got)-1] != "half-open→closed" {
		t.Fatalf("OnBreakerStateChange reported %v, want closed→open … half-open→closed", got)
	}
}
