package redisguard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestWritesAreNeverDoubled(t *testing.T) {
	t.Parallel()
	const n = 20
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	ctx := context.Background()

	// Control: plain go-redis, with its default retries, through the same fault.
	proxy := redistest.NewProxy(t, srv.Addr())
	raw := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
	defer raw.Close()
	for range n {
		if err := raw.Ping(ctx).Err(); err != nil { // a warm connection
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		_ = raw.Incr(ctx, "raw").Err()
	}
	rawCount, _ := direct.Get(ctx, "raw").Int()
	t.Logf("plain go-redis: %d INCR calls left the counter at %d", n, rawCount)
	if rawCount <= n {
		t.Fatalf("control: plain go-redis left the counter at %d for %d calls: the fault did not trigger a resend", rawCount, n)
	}

	guardedProxy := redistest.NewProxy(t, srv.Addr())
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{guardedProxy.Addr()}}})
	failed := 0
	for range n {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		guardedProxy.ResetAfterWrite(1)
		if err := c.Incr(ctx, "guarded").Err(); err != nil {
			failed++
		}
	}
	count, _ := direct.Get(ctx, "guarded").Int()
	t.Logf("guarded: %d INCR calls, %d returned an error, the counter is at %d", n, failed, count)
	if count > n {
		t.Fatalf("the counter is at %d after %d INCR calls: a write was applied twice", count, n)
	}
	if failed != n {
		t.Fatalf("%d of %d INCR calls whose connection broke returned no error", n-failed, n)
	}
}

func TestReadsAreRetriedTransparently(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}}})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		requests := proxy.Requests()
		v, err := c.Get(ctx, "k").Result()
		if err != nil || v != "v" {
			t.Fatalf("GET %d through a dropped connection: %q, %v", i, v, err)
		}
		if proxy.Requests() <= requests+1 {
			t.Fatalf("GET %d: no second request reached the server; was the fault injected?", i)
		}
	}

	pipe := c.Pipeline()
	a, b := pipe.Get(ctx, "k"), pipe.Exists(ctx, "k")
	proxy.ResetAfterWrite(1)
	if _, err := pipe.Exec(ctx); err != nil || a.Val() != "v" || b.Val() != 1 {
		t.Fatalf("read-only pipeline through a dropped connection: %v (%q, %d)", err, a.Val(), b.Val())
	}
}

func TestNoRetryWhenTheBudgetIsZero(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}, MaxRetries: -1}})
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	proxy.ResetAfterWrite(1)
	if err := c.Get(ctx, "k").Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("GET with MaxRetries -1 through a dropped connection: %v, want the network error", err)
	}
}

func TestWrapTakesOverRetries(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	direct := srv.Client(t)
	raw := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
	c, err := Wrap(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 5 {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		_ = c.Incr(ctx, "n").Err()
	}
	if n, _ := direct.Get(ctx, "n").Int(); n > 5 {
		t.Fatalf("a wrapped client applied 5 INCR calls %d times", n)
	}
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	proxy.ResetAfterWrite(1)
	if err := c.Get(ctx, "n").Err(); err != nil {
		t.Fatalf("GET through a dropped connection on a wrapped client: %v", err)
	}
}

func waitReady(c *Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.WaitReady(ctx)
}

func TestWriteWhoseConnectionFailedItsHandshakeRunsOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	direct := srv.Client(t)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}}})
	ctx := context.Background()
	for i := range 5 {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		// Every pooled connection is gone: the INCR needs a new one, and the
		// first request on it, the handshake, is the one reset.
		proxy.DropAll()
		time.Sleep(10 * time.Millisecond)
		proxy.ResetAfterWrite(1)
		if err := c.Incr(ctx, "n").Err(); err != nil {
			t.Fatalf("INCR %d after a failed handshake: %v", i, err)
		}
	}
	if n, _ := direct.Get(ctx, "n").Int(); n != 5 {
		t.Fatalf("5 INCR calls left the counter at %d", n)
	}
}
