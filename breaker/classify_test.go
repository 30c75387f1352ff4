package breaker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// replyError is an error reply as go-redis hands it over, for the replies a test
// server cannot easily be made to send.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

func client(t *testing.T, addr string, opts ...func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: addr, MaxRetries: -1}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// assertNeverOpens runs outcome n times through a breaker that opens after 5
// failures in a row and checks it stays closed.
func assertNeverOpens(t *testing.T, outcome error) {
	t.Helper()
	if IsFailure(outcome) {
		t.Errorf("IsFailure(%v) = true", outcome)
	}
	b, _ := New(Settings{})
	for range 20 {
		tk, err := b.Allow()
		if err != nil {
			t.Fatalf("refused after %v: %v", outcome, err)
		}
		b.Done(tk, outcome)
	}
	if b.State() != StateClosed || b.Counts().TotalFailures != 0 {
		t.Errorf("after 20× %v: state %v, counts %+v", outcome, b.State(), b.Counts())
	}
}

func TestRepliesThatShowRedisWorksAreNotFailures(t *testing.T) {
	srv := redistest.StartServer(t, "maxmemory 2mb", "maxmemory-policy noeviction")
	rdb := client(t, srv.Addr())
	ctx := context.Background()
	if err := rdb.LPush(ctx, "list", "a").Err(); err != nil {
		t.Fatal(err)
	}
	oom := func() error {
		big := strings.Repeat("x", 64<<10)
		for i := range 1000 {
			if err := rdb.Set(ctx, fmt.Sprint("fill:", i), big, 0).Err(); err != nil {
				return err
			}
		}
		return errors.New("maxmemory never reached")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	for _, tt := range []struct {
		name, want string
		err        error
	}{
		{"redis.Nil", "redis: nil", rdb.Get(ctx, "missing").Err()},
		{"WRONGTYPE", "WRONGTYPE", rdb.Get(ctx, "list").Err()},
		{"syntax error", "ERR syntax error", rdb.Do(ctx, "SET", "k", "v", "BOGUS").Err()},
		{"wrong arity", "ERR wrong number of arguments", rdb.Do(ctx, "SET", "k").Err()},
		{"NOSCRIPT", "NOSCRIPT", rdb.EvalSha(ctx, strings.Repeat("0", 40), nil).Err()},
		{"OOM", "OOM", oom()},
		{"the caller's cancellation", "context canceled", rdb.Get(canceled, "k").Err()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.HasPrefix(tt.err.Error(), tt.want) {
				t.Fatalf("the server gave %v, want %s…", tt.err, tt.want)
			}
			assertNeverOpens(t, tt.err)
		})
	}
}

func TestFailuresProducedByARealServer(t *testing.T) {
	ctx := context.Background()
	failures := map[string]func(t *testing.T) error{
		"timeout": func(t *testing.T) error {
			srv := redistest.StartServer(t)
			proxy := redistest.NewProxy(t, srv.Addr())
			rdb := client(t, proxy.Addr(), func(o *redis.Options) { o.ReadTimeout = 100 * time.Millisecond })
			proxy.Latency(300 * time.Millisecond)
			return rdb.Get(ctx, "k").Err()
		},
		"refused": func(t *testing.T) error {
			srv := redistest.StartServer(t)
			srv.Kill()
			return client(t, srv.Addr()).Get(ctx, "k").Err()
		},
		"reset": func(t *testing.T) error {
			srv := redistest.StartServer(t)
			proxy := redistest.NewProxy(t, srv.Addr())
			rdb := client(t, proxy.Addr())
			if err := rdb.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			proxy.ResetAfterWrite(1)
			return rdb.Get(ctx, "k").Err()
		},
		"BUSY": func(t *testing.T) error {
			srv := redistest.StartServer(t, "busy-reply-threshold 50")
			go func() { _ = client(t, srv.Addr()).Eval(ctx, "while true do end", nil).Err() }()
			t.Cleanup(func() { _ = client(t, srv.Addr()).ScriptKill(ctx).Err() })
			rdb := client(t, srv.Addr())
			for {
				if err := rdb.Ping(ctx).Err(); err != nil {
					return err
				}
				time.Sleep(10 * time.Millisecond)
			}
		},
		"MASTERDOWN": func(t *testing.T) error {
			master := redistest.StartServer(t)
			master.Kill()
			replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()), "replica-serve-stale-data no")
			return client(t, replica.Addr()).Get(ctx, "k").Err()
		},
		"CLUSTERDOWN": func(t *testing.T) error {
			node := redistest.StartServer(t, "cluster-enabled yes") // no slot assigned
			return client(t, node.Addr()).Get(ctx, "k").Err()
		},
		"READONLY": func(t *testing.T) error {
			master := redistest.StartServer(t)
			replica := redistest.StartServer(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port()))
			return client(t, replica.Addr()).Set(ctx, "k", "v", 0).Err()
		},
		"max clients": func(t *testing.T) error {
			srv := redistest.StartServer(t, "maxclients 1")
			first := client(t, srv.Addr())
			if err := first.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			return client(t, srv.Addr()).Ping(ctx).Err()
		},
	}
	for name, produce := range failures {
		t.Run(name, func(t *testing.T) {
			err := produce(t)
			if err == nil {
				t.Fatal("the fault produced no error")
			}
			t.Logf("%s: %v", name, err)
			if !IsFailure(err) {
				t.Fatalf("IsFailure(%v) = false", err)
			}
			b, _ := New(Settings{})
			for range DefaultConsecutiveFailures {
				tk, _ := b.Allow()
				b.Done(tk, err)
			}
			if b.State() != StateOpen {
				t.Fatalf("%d× %v left the breaker %v", DefaultConsecutiveFailures, err, b.State())
			}
		})
	}
}

func TestClassifierOnRepliesATestServerCannotEasilySend(t *testing.T) {
	for _, msg := range []string{
		"LOADING Redis is loading the dataset in memory",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"NOREPLICAS Not enough good replicas to write.",
		"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
		"ERR max number of clients reached",
	} {
		if !IsFailure(replyError(msg)) || !IsFailure(fmt.Errorf("wrapped: %w", replyError(msg))) {
			t.Errorf("IsFailure(%q) = false", msg)
		}
	}
	for _, msg := range []string{"BUSYGROUP Consumer Group name already exists", "BUSYKEY Target key name already exists.", "ERR unknown command"} {
		if IsFailure(replyError(msg)) {
			t.Errorf("IsFailure(%q) = true", msg)
		}
	}
	if !IsFailure(redis.ErrPoolTimeout) {
		t.Error("a pool timeout is not a failure")
	}
	if IsFailure(nil) || IsFailure(ErrOpen) {
		t.Error("nil or ErrOpen counted as a failure")
	}
}
