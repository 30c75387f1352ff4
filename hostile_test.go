package redisguard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A server at maxclients is busy, not gone: the client serves on the
// connections it has, backs off new dials, and never gives up because of it.
func TestMaxClientsIsBusyNotGone(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxclients 10")
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, PoolSize: 50},
		Hooks: rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if err := c.Get(ctx, "k").Err(); err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("a burst of 100 GETs against maxclients 10: %d answered, %d failed; state %v", ok.Load(), failed.Load(), c.State())

	// Within seconds the client serves again: on the connections the server
	// accepted, while new dials pause.
	redistest.Eventually(t, 5*time.Second, "20 GETs in a row answered", func() bool {
		for range 20 {
			if c.Get(ctx, "k").Err() != nil {
				return false
			}
		}
		return true
	})
	var answered, slowest atomic.Int64
	for range 100 {
		wg.Go(func() {
			start := time.Now()
			if c.Get(ctx, "k").Err() == nil {
				answered.Add(1)
			}
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
		})
	}
	wg.Wait()
	t.Logf("a second burst: %d of 100 answered, the slowest in %v", answered.Load(), time.Duration(slowest.Load()))
	if answered.Load() < 50 || time.Duration(slowest.Load()) > 2*time.Second {
		t.Fatalf("a second burst: %d of 100 answered, the slowest in %v", answered.Load(), time.Duration(slowest.Load()))
	}
	if st := c.State(); st != StateReady {
		t.Fatalf("client %v after the burst, want ready", st)
	}
	for _, e := range rec.snapshot() {
		if e.kind == "end" || errors.Is(e.err, ErrMaxRetriesReached) {
			t.Fatalf("the client gave up: %v", e)
		}
	}
}

// A password changed under a connected client: new connections are refused,
// and the client does not dial one per command; the supervisor takes over on
// its schedule, says why, and recovers once the mounted secret rotates.
func TestPasswordChangeFollowsTheSchedule(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "requirepass old-password")
	proxy := redistest.NewProxy(t, srv.Addr())
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("old-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{proxy.Addr()}},
		PasswordFile: path,
		Reconnect:    ExponentialBackoff{MaxRetries: -1},
		Hooks:        rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	admin := srv.Client(t)
	if err := admin.ConfigSet(ctx, "requirepass", "new-password").Err(); err != nil {
		t.Fatal(err)
	}
	before := proxy.Accepted()
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	stop := hammer(c, 20, time.Millisecond)
	time.Sleep(3 * time.Second)
	calls := stop()
	dials := proxy.Accepted() - before
	attempts := rec.count("reconnecting")
	t.Logf("password changed, 20 callers for 3 s: %d calls, %d new connections, %d reconnect attempts scheduled", calls, dials, attempts)
	// The schedule (100, 200, 400, 800, 1600 ms) fits 5 attempts in 3 s; the
	// callers whose connection was killed may dial once each before the
	// first refusal is seen.
	if dials > attempts+20 {
		t.Fatalf("%d new connections for %d reconnect attempts: callers are dialing", dials, attempts)
	}
	authErrors := 0
	for _, e := range rec.snapshot() {
		if e.kind == "error" && strings.Contains(e.err.Error(), "authentication failed") {
			authErrors++
		}
	}
	if authErrors == 0 {
		t.Fatalf("OnError never said the authentication failed: %v", lifecycle(rec.snapshot()))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(short); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("WaitReady while the password is wrong: %v, want the cause", err)
	}

	if err := os.WriteFile(path, []byte("new-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := waitReadyWithin(c, 5*time.Second); err != nil {
		t.Fatalf("not ready after the secret rotated: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after the rotation: %q, %v", v, err)
	}
}

func TestWrapRefusesATypedNilClient(t *testing.T) {
	t.Parallel()
	for _, rdb := range []redis.UniversalClient{(*redis.Client)(nil), (*redis.ClusterClient)(nil), nil} {
		if _, err := Wrap(rdb, Options{}); err == nil || !strings.Contains(err.Error(), "nil") {
			t.Fatalf("Wrap(%T(nil)): %v, want an error saying the client is nil", rdb, err)
		}
	}
}
