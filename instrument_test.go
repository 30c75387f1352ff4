package redisguard

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// spanCheck sends commands, each under a parent span of its own, and checks
// the spans redisotel recorded under each: the command's span, with its error.
type spanCheck struct {
	tp     *sdktrace.TracerProvider
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer

	mu   sync.Mutex
	sent []sentCmd
}

type sentCmd struct {
	parent trace.SpanID
	key    string
	err    error
}

func newSpanCheck(t *testing.T) *spanCheck {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &spanCheck{tp: tp, spans: spans, tracer: tp.Tracer("test")}
}

// instrument is what Options.Instrument gets.
func (s *spanCheck) instrument(rdb redis.UniversalClient) error {
	return redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(s.tp))
}

// get sends a GET of key under a parent span of its own and returns its error.
func (s *spanCheck) get(rdb redis.UniversalClient, key string) error {
	ctx, parent := s.tracer.Start(context.Background(), "op")
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	err := rdb.Get(ctx, key).Err()
	cancel()
	parent.End()
	if err == redis.Nil {
		err = nil
	}
	s.mu.Lock()
	s.sent = append(s.sent, sentCmd{parent: parent.SpanContext().SpanID(), key: key, err: err})
	s.mu.Unlock()
	return err
}

// verify checks that every command sent since the last verify has a "get"
// span of redisotel's under its parent: without error when it succeeded, with
// its error when it failed, naming the server it was routed to (addrOf).
// It returns the commands' errors, by kind.
func (s *spanCheck) verify(t *testing.T, addrOf func(key string) string) (ok, notReady, open, other int) {
	t.Helper()
	children := make(map[trace.SpanID][]sdktrace.ReadOnlySpan)
	for _, sp := range s.spans.Ended() {
		if sp.Name() == "get" {
			children[sp.Parent().SpanID()] = append(children[sp.Parent().SpanID()], sp)
		}
	}
	s.mu.Lock()
	sent := s.sent
	s.sent = nil
	s.mu.Unlock()
	for _, cmd := range sent {
		spans := children[cmd.parent]
		if len(spans) == 0 {
			t.Errorf("GET %s (%v): no span", cmd.key, cmd.err)
			continue
		}
		last := spans[len(spans)-1] // a cluster may have sent it more than once
		host, port, _ := net.SplitHostPort(addrOf(cmd.key))
		if got := attr(last, "server.address") + ":" + attr(last, "server.port"); got != host+":"+port {
			t.Errorf("GET %s: span's server %q, want %s:%s", cmd.key, got, host, port)
		}
		switch {
		case cmd.err == nil:
			ok++
			if last.Status().Code == codes.Error {
				t.Errorf("GET %s succeeded, its span has error %q", cmd.key, last.Status().Description)
			}
			continue
		case errors.Is(cmd.err, ErrNotReady):
			notReady++
		case errors.Is(cmd.err, breaker.ErrOpen):
			open++
		default:
			other++
		}
		if last.Status().Code != codes.Error || last.Status().Description != cmd.err.Error() {
			t.Errorf("GET %s failed with %q; its span: %v %q", cmd.key, cmd.err, last.Status().Code, last.Status().Description)
		}
	}
	return ok, notReady, open, other
}

func attr(sp sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			if v := kv.Value.AsString(); v != "" {
				return v
			}
			return strconv.FormatInt(kv.Value.AsInt64(), 10)
		}
	}
	return ""
}

// TestInstrumentSeesRefusedCommands: redisotel's tracing, added through
// Options.Instrument (New) or before Wrap, records a span for every command:
// those that reached Redis, and, with their error, those the guard refused
// while the breaker was open and while the server was down.
func TestInstrumentSeesRefusedCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		build func(t *testing.T, s *spanCheck, opts Options) *Client
	}{
		{"New", func(t *testing.T, s *spanCheck, opts Options) *Client {
			opts.Instrument = s.instrument
			return newTestClient(t, opts)
		}},
		{"Wrap", func(t *testing.T, s *spanCheck, opts Options) *Client {
			rdb := redis.NewClient(&redis.Options{Addr: opts.Redis.Addrs[0], ReadTimeout: opts.Redis.ReadTimeout})
			if err := s.instrument(rdb); err != nil {
				t.Fatal(err)
			}
			opts.Redis = nil
			c, err := Wrap(rdb, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if err := waitReady(c); err != nil {
				t.Fatal(err)
			}
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			proxy := redistest.NewProxy(t, srv.Addr())
			rec := newRecorder()
			s := newSpanCheck(t)
			c := tc.build(t, s, breakerTestOptions(proxy.Addr(), rec))
			addr := func(string) string { return proxy.Addr() }
			for range 10 {
				if err := s.get(c, "k"); err != nil {
					t.Fatal(err)
				}
			}
			if ok, _, _, _ := s.verify(t, addr); ok != 10 {
				t.Fatalf("%d of 10 GETs succeeded", ok)
			}

			// Slow replies open the breaker; the server is up, the node ready.
			proxy.Latency(60 * time.Millisecond)
			stop := hammer(c, 10, 5*time.Millisecond)
			rec.waitFor(t, "breaker", 1, 5*time.Second)
			stop()
			if err := waitReady(c); err != nil {
				t.Fatal(err)
			}
			for range 20 {
				err := s.get(c, "k")
				if !errors.Is(err, breaker.ErrOpen) {
					t.Fatalf("GET while the breaker is open: %v", err)
				}
				if !strings.Contains(err.Error(), proxy.Addr()) || !strings.Contains(err.Error(), "last failure") {
					t.Fatalf("the open breaker's error %q names neither the server nor the last failure", err)
				}
			}
			if _, _, open, _ := s.verify(t, addr); open != 20 {
				t.Fatalf("%d of 20 GETs refused by the open breaker", open)
			}

			// The server is down: the node reconnects, commands are refused.
			proxy.Heal()
			proxy.Refuse()
			redistest.Eventually(t, 5*time.Second, "reconnecting", func() bool {
				_ = c.Get(context.Background(), "k").Err()
				return c.State() == StateReconnecting
			})
			for range 20 {
				if err := s.get(c, "k"); !errors.Is(err, ErrNotReady) {
					t.Fatalf("GET while the server is down: %v", err)
				}
			}
			if _, notReady, _, _ := s.verify(t, addr); notReady != 20 {
				t.Fatalf("%d of 20 GETs refused as not ready", notReady)
			}
		})
	}
}

// TestInstrumentSeesRefusedCommandsOnACluster: the same over a cluster of 3
// masters, where redisotel instruments every node client: the commands
// routed to a master whose breaker is open, then to a master that is down,
// are refused, each with an error span naming that master, while the other
// masters' commands are served.
func TestInstrumentSeesRefusedCommandsOnACluster(t *testing.T) {
	t.Parallel()
	for _, wrap := range []bool{false, true} {
		name := "New"
		if wrap {
			name = "Wrap"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clusterSpans(t, wrap)
		})
	}
}

func clusterSpans(t *testing.T, wrap bool) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, Extra: []string{"busy-reply-threshold 50"}})
	rec := newRecorder()
	s := newSpanCheck(t)
	opts := Options{
		ConnectTimeout: time.Second,
		Reconnect:      ExponentialBackoff{MaxRetries: -1},
		Breaker:        breaker.Settings{ConsecutiveFailures: 5, OpenTimeout: breakerOpenTimeout},
		Hooks:          rec.hooks(),
	}
	var c *Client
	if wrap {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ReadTimeout: 100 * time.Millisecond})
		if err := s.instrument(rdb); err != nil {
			t.Fatal(err)
		}
		var err error
		if c, err = Wrap(rdb, opts); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := waitReady(c); err != nil {
			t.Fatal(err)
		}
	} else {
		opts.Redis = &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true, ReadTimeout: 100 * time.Millisecond}
		opts.Instrument = s.instrument
		c = newTestClient(t, opts)
	}
	keys := cl.KeysOnEveryShard(2)
	victim := cl.Masters()[0]
	owner := make(map[string]string)
	for m, ks := range keys {
		for _, k := range ks {
			owner[k] = m.Addr()
		}
	}
	addrOf := func(k string) string { return owner[k] }
	getAll := func() {
		for _, k := range keys.All() {
			_ = s.get(c, k)
		}
	}
	getAll()
	if ok, _, _, _ := s.verify(t, addrOf); ok != len(keys.All()) {
		t.Fatalf("%d of %d GETs succeeded", ok, len(keys.All()))
	}

	// A script keeps the victim busy: its BUSY replies open its breaker.
	victimNode := func() NodeStatus {
		for _, n := range c.Nodes() {
			if n.Addr == victim.Addr() {
				return n
			}
		}
		t.Fatalf("no node %s in %v", victim.Addr(), c.Nodes())
		return NodeStatus{}
	}
	go func() { _ = victim.Client(t).Eval(context.Background(), "while true do end", nil).Err() }()
	redistest.Eventually(t, 10*time.Second, "the victim's breaker open", func() bool {
		for _, k := range keys[victim] {
			_ = c.Get(context.Background(), k).Err()
		}
		return victimNode().Breaker.State == breaker.StateOpen
	})
	getAll()
	ok, notReady, open, other := s.verify(t, addrOf)
	t.Logf("breaker open: %d served, %d not ready, %d breaker open, %d other", ok, notReady, open, other)
	if open == 0 || ok < len(keys.Except(victim)) {
		t.Fatalf("breaker open: %d served, %d refused by the breaker; want every other shard served and a refusal", ok, open)
	}

	// The victim is killed: its node reconnects, its commands are refused.
	if err := victim.Client(t).ScriptKill(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	victim.Kill()
	redistest.Eventually(t, 10*time.Second, "the victim reconnecting", func() bool {
		for _, k := range keys[victim] {
			_ = c.Get(context.Background(), k).Err()
		}
		return victimNode().State == StateReconnecting
	})
	getAll()
	ok, notReady, open, other = s.verify(t, addrOf)
	t.Logf("down: %d served, %d not ready, %d breaker open, %d other", ok, notReady, open, other)
	if notReady != len(keys[victim]) || ok != len(keys.Except(victim)) {
		t.Fatalf("down: %d served, %d not ready; want %d and %d", ok, notReady, len(keys.Except(victim)), len(keys[victim]))
	}
}

func TestWrapTwiceFails(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	c, err := Wrap(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Wrap(rdb, Options{}); !errors.Is(err, ErrAlreadyGuarded) {
		t.Fatalf("second Wrap: %v, want ErrAlreadyGuarded", err)
	}
	if _, err := Wrap(c, Options{}); !errors.Is(err, ErrAlreadyGuarded) {
		t.Fatalf("Wrap of a *Client: %v, want ErrAlreadyGuarded", err)
	}
	if _, err := Wrap(c.UniversalClient, Options{}); !errors.Is(err, ErrAlreadyGuarded) {
		t.Fatalf("Wrap of its go-redis client: %v, want ErrAlreadyGuarded", err)
	}
	n, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Wrap(n.UniversalClient, Options{}); !errors.Is(err, ErrAlreadyGuarded) {
		t.Fatalf("Wrap of New's go-redis client: %v, want ErrAlreadyGuarded", err)
	}
	n.Close()
	c.Close()
}

func TestInstrumentError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := New(Options{Instrument: func(redis.UniversalClient) error { return boom }})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "Options.Instrument") {
		t.Fatalf("New: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := Wrap(rdb, Options{Instrument: func(redis.UniversalClient) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("Wrap: %v", err)
	}
	// The failed Wrap left no mark: the client can still be wrapped.
	c, err := Wrap(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestSourcesSetTogetherAreNamed(t *testing.T) {
	t.Parallel()
	_, err := New(Options{URL: "redis://127.0.0.1:1", Redis: &redis.UniversalOptions{}})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Field != "URL" || !strings.Contains(err.Error(), "together with Redis") || strings.Contains(err.Error(), "Cluster is") {
		t.Fatalf("URL and Redis: %v", err)
	}
	_, err = New(Options{Redis: &redis.UniversalOptions{}, Cluster: &redis.ClusterOptions{}})
	if !errors.As(err, &oe) || oe.Field != "Redis" || !strings.Contains(err.Error(), "together with Cluster") {
		t.Fatalf("Redis and Cluster: %v", err)
	}
}
