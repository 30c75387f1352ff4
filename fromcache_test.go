package redisguard

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// cachedKeys are the keys the client-side cache tests read.
const cachedKeys = 10

func cachedKey(i int) string { return fmt.Sprintf("csc:%d", i) }

// readCached reads every cached key through rdb and returns how many came back
// with their value.
func readCached(t *testing.T, rdb redis.Cmdable) int {
	t.Helper()
	served := 0
	for i := range cachedKeys {
		v, err := rdb.Get(context.Background(), cachedKey(i)).Result()
		if err == nil && v == fmt.Sprint("v", i) {
			served++
		}
	}
	return served
}

func writeCachedKeys(t *testing.T, admin *redis.Client) {
	t.Helper()
	for i := range cachedKeys {
		if err := admin.Set(context.Background(), cachedKey(i), fmt.Sprint("v", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// cscClientOptions are the go-redis options of a client with a client-side
// cache, for a plain client and a guarded one alike.
func cscClientOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		Protocol:              3,
		ClientSideCacheConfig: benchCSCConfig(),
		ReadTimeout:           300 * time.Millisecond,
		MaxRetries:            -1,
	}
}

// failUntilOpen makes the guarded client's breaker open on a healthy server:
// replies that count as failures (MISCONF), as many as it takes.
func failUntilOpen(t *testing.T, c *Client) {
	t.Helper()
	for statusOf(c).State == breaker.StateClosed {
		err := c.Eval(context.Background(), "return redis.error_reply('MISCONF made up by the test')", nil).Err()
		if err == nil || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("EVAL returning MISCONF: %v", err)
		}
	}
}

// The breaker is open while the server is healthy. Plain go-redis answers reads
// from its client-side cache; the guarded client must answer them too (the
// guard never makes the client less available than plain go-redis), while a
// miss is refused without reaching the server, and the hits do not count as the
// half-open breaker's probes: only replies from the server close it.
func TestClientSideCacheAnswersWhileTheBreakerRefuses(t *testing.T) {
	for _, how := range []string{"New", "Wrap"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			admin := srv.Client(t)
			writeCachedKeys(t, admin)

			plain := redis.NewClient(cscClientOptions(srv.Addr()))
			t.Cleanup(func() { plain.Close() })
			settings := breaker.Settings{ConsecutiveFailures: 2, OpenTimeout: 500 * time.Millisecond}
			var c *Client
			if how == "New" {
				o := cscClientOptions(srv.Addr())
				c = newTestClient(t, Options{Breaker: settings, Redis: &redis.UniversalOptions{
					Addrs: []string{o.Addr}, Protocol: o.Protocol, ClientSideCacheConfig: o.ClientSideCacheConfig,
					ReadTimeout: o.ReadTimeout, MaxRetries: o.MaxRetries,
				}})
			} else {
				var err error
				c, err = Wrap(redis.NewClient(cscClientOptions(srv.Addr())), Options{Breaker: settings})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
			}
			if got := readCached(t, plain); got != cachedKeys {
				t.Fatalf("plain go-redis read %d of %d keys", got, cachedKeys)
			}
			if got := readCached(t, c); got != cachedKeys {
				t.Fatalf("the guarded client read %d of %d keys", got, cachedKeys)
			}

			failUntilOpen(t, c)
			gets := serverGETCalls(t, admin)
			plainServed, guardedServed := readCached(t, plain), readCached(t, c)
			t.Logf("breaker open: plain go-redis answered %d of %d cached reads, the guarded client %d", plainServed, cachedKeys, guardedServed)
			if plainServed != cachedKeys || guardedServed != plainServed {
				t.Fatalf("breaker open: the guarded client answered %d cached reads, plain go-redis %d, want %d each", guardedServed, plainServed, cachedKeys)
			}
			if err := c.Get(context.Background(), "csc:never-read").Err(); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("a miss while the breaker is open: %v, want breaker.ErrOpen", err)
			}
			if n := serverGETCalls(t, admin) - gets; n != 0 {
				t.Fatalf("breaker open: the server executed %d GETs: the guarded client answered from memory and refused the miss, plain go-redis answered from memory", n)
			}

			redistest.Eventually(t, 5*time.Second, "the breaker is half-open", func() bool {
				return statusOf(c).State == breaker.StateHalfOpen
			})
			// Hits while half-open are answered, and close nothing: the server
			// did not answer them.
			for range 20 {
				if got := readCached(t, c); got != cachedKeys {
					t.Fatalf("half-open: the guarded client read %d of %d cached keys", got, cachedKeys)
				}
			}
			if st := statusOf(c).State; st != breaker.StateHalfOpen {
				t.Fatalf("after %d reads answered from memory the breaker is %v: hits from memory must not serve as probes", 20*cachedKeys, st)
			}
			// Misses are the probes: they reach the server, which closes it.
			gets = serverGETCalls(t, admin)
			for i := 0; statusOf(c).State == breaker.StateHalfOpen; i++ {
				err := c.Get(context.Background(), fmt.Sprint("csc:probe:", i)).Err()
				if err != nil && !errors.Is(err, redis.Nil) {
					t.Fatalf("probe %d: %v", i, err)
				}
			}
			if st := statusOf(c).State; st != breaker.StateClosed {
				t.Fatalf("breaker %v after the probes succeeded, want closed", st)
			}
			if n := serverGETCalls(t, admin) - gets; n < breaker.DefaultHalfOpenRequests {
				t.Fatalf("the breaker closed after %d GETs reached the server, want at least %d probes", n, breaker.DefaultHalfOpenRequests)
			}

			// The cache is still invalidated by the server afterwards.
			if err := admin.Set(context.Background(), cachedKey(0), "new", 0).Err(); err != nil {
				t.Fatal(err)
			}
			redistest.Eventually(t, 5*time.Second, "the guarded client reads the new value", func() bool {
				return c.Get(context.Background(), cachedKey(0)).Val() == "new"
			})
		})
	}
}

// The server stops answering (SIGSTOP): the node is lost and refuses commands.
// The guarded client answers from its client-side cache every read plain
// go-redis answers from its own, and refuses a miss with ErrNotReady instead of
// waiting for the frozen server.
func TestClientSideCacheAnswersWhileTheNodeIsDown(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	writeCachedKeys(t, admin)
	plain := redis.NewClient(cscClientOptions(srv.Addr()))
	t.Cleanup(func() { plain.Close() })
	o := cscClientOptions(srv.Addr())
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{
		Addrs: []string{o.Addr}, Protocol: o.Protocol, ClientSideCacheConfig: o.ClientSideCacheConfig,
		ReadTimeout: o.ReadTimeout, MaxRetries: o.MaxRetries,
	}})
	for _, rdb := range []redis.Cmdable{plain, c} {
		if got := readCached(t, rdb); got != cachedKeys {
			t.Fatalf("read %d of %d keys", got, cachedKeys)
		}
	}

	srv.Stop()
	defer srv.Continue()
	// Each client learns of it from a command that times out.
	for _, rdb := range []redis.Cmdable{plain, c} {
		if err := rdb.Incr(context.Background(), "csc:counter").Err(); err == nil {
			t.Fatal("INCR on a stopped server succeeded")
		}
	}
	redistest.Eventually(t, 5*time.Second, "the guarded client is reconnecting", func() bool {
		return c.State() == StateReconnecting
	})
	plainServed, guardedServed := readCached(t, plain), readCached(t, c)
	t.Logf("server stopped: plain go-redis answered %d of %d cached reads, the guarded client %d", plainServed, cachedKeys, guardedServed)
	if guardedServed < plainServed {
		t.Fatalf("server stopped: the guarded client answered %d cached reads, plain go-redis %d", guardedServed, plainServed)
	}
	if err := c.Get(context.Background(), "csc:never-read").Err(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("a miss while the node is down: %v, want ErrNotReady", err)
	}

	srv.Continue()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.Set(ctx, cachedKey(1), "new", 0).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, "the guarded client reads the new value", func() bool {
		return c.Get(ctx, cachedKey(1)).Val() == "new"
	})
}
