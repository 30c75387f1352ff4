package redisguard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/redistest"
)

// breakerOpenTimeout leaves the supervisor time to reconnect while the breaker
// is still open.
const breakerOpenTimeout = 3 * time.Second

func breakerTestOptions(addr string, rec *recorder) Options {
	opts := quickOptions(addr)
	opts.ConnectTimeout = time.Second
	opts.Redis.ReadTimeout = 100 * time.Millisecond
	opts.Breaker = breaker.Settings{ConsecutiveFailures: 5, OpenTimeout: breakerOpenTimeout}
	opts.Hooks = rec.hooks()
	return opts
}

func TestBreakerOpensOnLatencyAndClosesAfterIt(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	rec := newRecorder()
	c := newTestClient(t, breakerTestOptions(proxy.Addr(), rec))
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	b := liveBreaker(c)

	// 60 ms each way: a round trip takes 120 ms, above the 100 ms ReadTimeout,
	// while a reconnect attempt (HELLO and PING) fits in its 1 s.
	proxy.Latency(60 * time.Millisecond)
	latencyFrom := time.Now()
	stop := hammer(c, 10, 5*time.Millisecond)
	openedAt := rec.waitFor(t, "breaker", 1, 5*time.Second).at
	stop()
	if b.State() != circuit.StateOpen {
		t.Fatalf("breaker %v, want open", b.State())
	}
	t.Logf("open %v after the latency began (5 failures in a row)", openedAt.Sub(latencyFrom).Round(time.Millisecond))

	// Open: commands fail at once, and nothing reaches the server.
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	if b.State() != circuit.StateOpen {
		t.Fatalf("breaker %v %v after opening", b.State(), time.Since(openedAt))
	}
	requests := proxy.Requests()
	for range 100 {
		start := time.Now()
		cmd := c.Get(ctx, "k")
		if !errors.Is(cmd.Err(), breaker.ErrOpen) {
			t.Fatalf("GET while open: %v, want breaker.ErrOpen", cmd.Err())
		}
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Fatalf("a refused GET took %v", took)
		}
	}
	if n := proxy.Requests() - requests; n != 0 {
		t.Fatalf("%d requests reached the server while the breaker was open", n)
	}

	// After the open period a probe goes through; the latency is still there,
	// so it fails and the breaker opens again.
	redistest.Eventually(t, 2*breakerOpenTimeout, "half-open", func() bool { return b.State() == circuit.StateHalfOpen })
	t.Logf("half-open %v after opening (OpenTimeout %v)", time.Since(openedAt).Round(time.Millisecond), breakerOpenTimeout)
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	requests = proxy.Requests()
	if err := c.Get(ctx, "k").Err(); err == nil || errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("the half-open probe: %v, want its timeout", err)
	}
	if proxy.Requests() == requests {
		t.Fatal("the half-open probe did not reach the server")
	}
	if b.State() != circuit.StateOpen {
		t.Fatalf("breaker %v after a failed probe, want open", b.State())
	}

	// The latency goes away: the next probes succeed and the breaker closes.
	proxy.Heal()
	healed := time.Now()
	redistest.Eventually(t, 3*breakerOpenTimeout, "closed", func() bool {
		if waitReady(c) != nil {
			return false
		}
		_ = c.Get(ctx, "k").Err()
		return b.State() == circuit.StateClosed
	})
	t.Logf("closed %v after the latency was removed", time.Since(healed).Round(time.Millisecond))
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after closing: %q, %v", v, err)
	}
	want := []string{"closed→open", "open→half-open", "half-open→open", "open→half-open", "half-open→closed"}
	if got := rec.breakerChanges(); !slices.Equal(got, want) {
		t.Fatalf("OnBreakerStateChange reported %v, want %v", got, want)
	}
}

func TestBreakerAndPausedServer(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, breakerTestOptions(srv.Addr(), rec))
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	stop := hammer(c, 10, 5*time.Millisecond)
	rec.waitFor(t, "breaker", 1, 5*time.Second)
	stop()
	if got := statusOf(c).State; got != breaker.StateOpen {
		t.Fatalf("breaker %v while the server is paused, want open", got)
	}
	srv.Continue()
	resumed := time.Now()
	redistest.Eventually(t, 3*breakerOpenTimeout, "healthy again", func() bool {
		if waitReady(c) != nil {
			return false
		}
		_ = c.Get(ctx, "k").Err()
		return statusOf(c).State == breaker.StateClosed
	})
	t.Logf("client ready and breaker closed %v after the server resumed", time.Since(resumed).Round(time.Millisecond))
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after the resume: %q, %v", v, err)
	}
	changes := rec.breakerChanges()
	if changes[0] != "closed→open" || changes[len(changes)-1] != "half-open→closed" {
		t.Fatalf("breaker changes %v, want closed→open … half-open→closed", changes)
	}
	for i := 1; i < len(changes); i++ {
		from := strings.Split(changes[i], "→")[0]
		if prevTo := strings.Split(changes[i-1], "→")[1]; from != prevTo {
			t.Fatalf("breaker changes out of order: %v", changes)
		}
	}
}

func TestRepliesDoNotOpenTheClientsBreaker(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxmemory 2mb", "maxmemory-policy noeviction")
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	ctx := context.Background()
	if err := c.LPush(ctx, "list", "a").Err(); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	for i := 0; c.Set(ctx, fmt.Sprint("fill:", i), big, 0).Err() == nil; i++ {
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for range 10 {
		for _, err := range []error{
			c.Get(ctx, "missing").Err(),
			c.Get(ctx, "list").Err(),
			c.Do(ctx, "SET", "k", "v", "BOGUS").Err(),
			c.EvalSha(ctx, strings.Repeat("0", 40), nil).Err(),
			c.Set(ctx, "one-more", big, 0).Err(),
			c.Get(canceled, "k").Err(),
		} {
			if err == nil {
				t.Fatal("a command meant to fail succeeded")
			}
		}
	}
	if b := statusOf(c); b.State != breaker.StateClosed || b.Counts.TotalFailures != 0 {
		t.Fatalf("breaker %v with counts %+v after 60 error replies", b.State, b.Counts)
	}
}

func TestBreakerAndSupervisorCompose(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
		Hooks:     rec.hooks(),
	})
	ctx := context.Background()
	stop := hammer(c, 50, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	srv.Kill()
	rec.waitFor(t, "reconnecting", 1, 5*time.Second)
	notReady := 0
	for range 100 {
		if errors.Is(c.Get(ctx, "k").Err(), ErrNotReady) {
			notReady++
		}
	}
	time.Sleep(500 * time.Millisecond) // the refusals go on under load
	if notReady < 90 {
		t.Fatalf("only %d of 100 GETs failed fast with ErrNotReady while reconnecting", notReady)
	}
	if got := statusOf(c).State; got != breaker.StateClosed {
		t.Fatalf("breaker %v while the supervisor reconnects: it flapped from the refusals (counts %+v)", got, statusOf(c).Counts)
	}
	srv.Restart()
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET after the restart: %v; events %v", err, rec.snapshot())
	}
	if got := statusOf(c).State; got != breaker.StateClosed || len(rec.breakerChanges()) != 0 {
		t.Fatalf("breaker %v, changes %v: want closed throughout", got, rec.breakerChanges())
	}
}

func TestBreakerCanBeDisabled(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}, DisableBreaker: true})
	if _, ok := c.Breaker(); ok {
		t.Fatal("Breaker() reports a breaker with DisableBreaker")
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidBreakerSettingsNameTheField(t *testing.T) {
	_, err := New(Options{Breaker: breaker.Settings{FailureRatio: 2}})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Field != "Breaker.FailureRatio" {
		t.Fatalf("New: %v, want an OptionError for Breaker.FailureRatio", err)
	}
	_, err = New(Options{Breaker: breaker.Settings{MinOpenTimeout: time.Minute, OpenTimeout: time.Second}})
	if !errors.As(err, &oe) || oe.Field != "Breaker.MinOpenTimeout" {
		t.Fatalf("New: %v, want an OptionError for Breaker.MinOpenTimeout", err)
	}
}

func TestCallersDeadlineAgainstAPausedServer(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A context that has already ended is turned away and counted by nobody.
	expired, cancel := context.WithCancel(ctx)
	cancel()
	before := statusOf(c).Counts.Requests
	for range 10 {
		if err := c.Get(expired, "k").Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("GET with an ended context: %v", err)
		}
	}
	if n := statusOf(c).Counts.Requests - before; n != 0 {
		t.Fatalf("the breaker counted %d requests with ended contexts", n)
	}

	srv.Stop()
	defer srv.Continue()
	for i := range breaker.DefaultConsecutiveFailures {
		bctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := c.Get(bctx, "k").Err()
		cancel()
		if err == nil || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("GET %d on a paused server within 50ms: %v", i, err)
		}
	}
	// The caller's budget ran out each time after the write: the connections
	// thrown away are drained until the slow-call threshold passes without a
	// reply, and then each counts as a slow call. The connection is not
	// considered lost (the default ReadTimeout, 3 s, has not passed).
	threshold := liveBreaker(c).SlowCallThreshold()
	redistest.Eventually(t, threshold+2*time.Second, "the breaker open", func() bool {
		return statusOf(c).State == breaker.StateOpen
	})
	if got := c.State(); got != StateReady {
		t.Fatalf("client %v: a caller's short deadline moved the supervisor", got)
	}
}
