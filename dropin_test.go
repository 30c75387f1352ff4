package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/redistest"
)

// openBreaker opens c's breaker as five slow calls would.
func openBreaker(t *testing.T, b *circuit.Breaker) {
	t.Helper()
	for range breaker.DefaultConsecutiveFailures {
		ticket, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.Done(ticket, breaker.ErrSlowCall)
	}
	if b.State() != circuit.StateOpen {
		t.Fatalf("breaker %v, want open", b.State())
	}
}

func TestClosedClientErrorsAreGoRedisErrClosed(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	for _, wrap := range []bool{false, true} {
		var c *Client
		if wrap {
			w, err := Wrap(redis.NewClient(&redis.Options{Addr: srv.Addr()}), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c = w
		} else {
			c = newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
		}
		_ = c.Close()
		ctx := context.Background()
		err := c.Get(ctx, "k").Err()
		_, pipeErr := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, "k")
			return nil
		})
		for _, err := range []error{err, pipeErr} {
			if !errors.Is(err, redis.ErrClosed) || !errors.Is(err, ErrClosed) {
				t.Fatalf("wrap=%v: after Close: %v, want both redis.ErrClosed and ErrClosed", wrap, err)
			}
		}
	}
}

// go-redis fills MinIdleConns in the background from the moment the client
// exists: no connection that failed may end up in the pool.
func TestMinIdleConnsNeverPoolsAFailedConnection(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr(), MinIdleConns: 5, PoolSize: 10})
	wrapped, err := Wrap(raw, Options{Reconnect: ExponentialBackoff{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer wrapped.Close()
	built := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}, MinIdleConns: 5, PoolSize: 10},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
	})
	for name, c := range map[string]*Client{"Wrap": wrapped, "New": built} {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if err := c.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
				t.Fatalf("%s: SET %d with MinIdleConns: %v", name, i, err)
			}
		}
	}

	// Through an outage as well: once ready again, the pool holds only
	// connections that work.
	srv.Kill()
	for _, c := range []*Client{wrapped, built} {
		triggerDetection(c)
	}
	time.Sleep(300 * time.Millisecond)
	srv.Restart()
	for name, c := range map[string]*Client{"Wrap": wrapped, "New": built} {
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for i := range 10 {
			if c.Set(ctx, fmt.Sprint("k", i), i, 0).Err() != nil {
				failed++
			}
		}
		if failed > 0 {
			t.Fatalf("%s: %d of 10 SETs failed after the restart with MinIdleConns", name, failed)
		}
	}
}

// A handshake that times out is a net.Error still, as go-redis's own tests
// and callers assert.
func TestHandshakeTimeoutIsANetError(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := newTestClient(t, Options{
		Redis:          &redis.UniversalOptions{Addrs: []string{proxy.Addr()}, ReadTimeout: 100 * time.Millisecond, MaxRetries: -1},
		ConnectTimeout: time.Second,
		Reconnect:      ExponentialBackoff{MaxRetries: -1},
	})
	proxy.Latency(150 * time.Millisecond) // new connections: the HELLO times out
	proxy.DropAll()
	err := c.Ping(context.Background()).Err()
	ne, ok := err.(net.Error)
	if !ok || !ne.Timeout() {
		t.Fatalf("PING whose connection's handshake timed out: %v (%T), want a net.Error that is a timeout", err, err)
	}
}

// Code written for go-redis sends its first command right after building the
// client.
func TestFirstCommandWaitsForTheFirstConnection(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	ctx := context.Background()
	c, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the first command after New: %v", err)
	}
	w, err := Wrap(redis.NewClient(&redis.Options{Addr: srv.Addr()}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("the first command after Wrap: %v", err)
	}

	// Nothing listens: the first command gets the first attempt's failure,
	// at once, and names it.
	dead := redistest.StartServer(t)
	addr := dead.Addr()
	dead.Kill()
	d, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}}, Reconnect: ExponentialBackoff{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := time.Now()
	err = d.Ping(ctx).Err()
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("the first command to a dead server: %v, want ErrNotReady naming the address and the refusal", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the first command to a dead server took %v", took)
	}
}

func TestAutoPipeliningIsGuardedPerCommand(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	ctx := context.Background()

	t.Run("refused while the breaker is open, never written", func(t *testing.T) {
		c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		openBreaker(t, liveBreaker(c))
		if err := ap.Set(ctx, "refused", "v", 0).Err(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("auto-pipelined SET while open: %v, want breaker.ErrOpen", err)
		}
		if n := direct.Exists(ctx, "refused").Val(); n != 0 {
			t.Fatal("the refused SET reached the server")
		}
	})

	t.Run("a read whose connection broke runs again", func(t *testing.T) {
		proxy := redistest.NewProxy(t, srv.Addr())
		c := newTestClient(t, quickOptions(proxy.Addr()))
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		if err := ap.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		proxy.ResetAfterWrite(1)
		if err := ap.Get(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("auto-pipelined GET of a missing key through a reset connection: %v, want redis.Nil", err)
		}
	})

	t.Run("QueueLimit counts commands", func(t *testing.T) {
		proxy := redistest.NewProxy(t, srv.Addr())
		c := newTestClient(t, Options{
			Redis:      &redis.UniversalOptions{Addrs: []string{proxy.Addr()}},
			QueueLimit: 4,
		})
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatal(err)
		}
		proxy.Latency(20 * time.Millisecond)
		var full, ok atomic.Int64
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				for range 5 {
					switch err := ap.Set(ctx, fmt.Sprint("q", i), i, 0).Err(); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrQueueFull):
						full.Add(1)
					default:
						t.Errorf("SET: %v", err)
					}
				}
			})
		}
		wg.Wait()
		t.Logf("64 callers × 5 auto-pipelined SETs with QueueLimit 4: %d done, %d refused with ErrQueueFull", ok.Load(), full.Load())
		if full.Load() == 0 || ok.Load() == 0 {
			t.Fatalf("%d done, %d ErrQueueFull: want both", ok.Load(), full.Load())
		}
	})

	t.Run("full-duplex is refused", func(t *testing.T) {
		fd := &redis.AutoPipelineOptions{FullDuplex: true}
		_, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, AutoPipelineOptions: fd}})
		var oe *OptionError
		if !errors.As(err, &oe) || !strings.Contains(oe.Field, "FullDuplex") {
			t.Fatalf("New with full-duplex auto-pipelining: %v, want an OptionError naming FullDuplex", err)
		}
		raw := redis.NewClient(&redis.Options{Addr: srv.Addr(), AutoPipelineOptions: fd})
		defer raw.Close()
		if _, err := Wrap(raw, Options{}); !errors.As(err, &oe) {
			t.Fatalf("Wrap of a full-duplex client: %v, want an OptionError", err)
		}
		c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
		if _, err := c.AutoPipelineWithOptions(fd); !errors.Is(err, ErrFullDuplex) {
			t.Fatalf("AutoPipelineWithOptions(FullDuplex): %v, want ErrFullDuplex", err)
		}
		if _, err := c.AsyncAutoPipelineWithOptions(fd); !errors.Is(err, ErrFullDuplex) {
			t.Fatalf("AsyncAutoPipelineWithOptions(FullDuplex): %v, want ErrFullDuplex", err)
		}
	})
}

func TestPrintingAClientShowsNoSecret(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-Pa55"
	srv := redistest.StartServer(t, "requirepass "+password)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, Password: password, DB: 2}})
	if got, want := c.String(), fmt.Sprintf("Redis<%s db:2>", srv.Addr()); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		if out := fmt.Sprintf(verb, c); strings.Contains(out, password) || strings.Contains(out, password[:4]) {
			t.Fatalf("fmt %s of the client printed the password: %s", verb, out)
		}
	}
}

func TestConnIsGuarded(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	ctx := context.Background()
	conn := c.Conn()
	defer conn.Close()
	if err := conn.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	openBreaker(t, liveBreaker(c))
	if err := conn.Get(ctx, "k").Err(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("GET on a Conn while the breaker is open: %v, want breaker.ErrOpen", err)
	}
}
