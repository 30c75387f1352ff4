package metrics_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// alerts records a Monitor's alerts.
type alerts struct {
	mu  sync.Mutex
	got []metrics.Alert
}

func (a *alerts) add(al metrics.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, al)
}

// of returns the alerts of one name, as "fire"/"resolve".
func (a *alerts) of(name string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, al := range a.got {
		if al.Name == name {
			if al.Firing {
				out = append(out, "fire")
			} else {
				out = append(out, "resolve")
			}
		}
	}
	return out
}

// startMonitor runs a Monitor polling every 50 ms until the test ends.
func startMonitor(t *testing.T, rdb redis.UniversalClient, opts metrics.MonitorOptions) *alerts {
	t.Helper()
	var a alerts
	opts.Interval = 50 * time.Millisecond
	opts.OnAlert = a.add
	m, err := metrics.NewMonitor(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &a
}

// expectFireThenResolve pushes the server across a threshold with push, checks
// the alert fired once, pulls it back with pull, and checks it resolved once.
func expectFireThenResolve(t *testing.T, a *alerts, name string, push, pull func()) {
	t.Helper()
	time.Sleep(150 * time.Millisecond) // a few quiet polls first
	if got := a.of(name); len(got) != 0 {
		t.Fatalf("%s alerts before the push: %v", name, got)
	}
	push()
	redistest.Eventually(t, 5*time.Second, name+" fires", func() bool { return len(a.of(name)) >= 1 })
	time.Sleep(150 * time.Millisecond) // still crossed: no repeat
	pull()
	redistest.Eventually(t, 5*time.Second, name+" resolves", func() bool { return len(a.of(name)) >= 2 })
	time.Sleep(150 * time.Millisecond) // still resolved: no repeat
	if got := a.of(name); len(got) != 2 || got[0] != "fire" || got[1] != "resolve" {
		t.Fatalf("%s alerts: %v, want [fire resolve]", name, got)
	}
}

func TestMonitorMemory(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxmemory 8mb", "maxmemory-policy noeviction")
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	a := startMonitor(t, rdb, metrics.MonitorOptions{FragmentationThreshold: 1e9})
	ctx := context.Background()
	expectFireThenResolve(t, a, metrics.AlertMemory, func() {
		for i := range 64 {
			if err := rdb.Set(ctx, fmt.Sprint("fill:", i), strings.Repeat("x", 100<<10), 0).Err(); err != nil {
				t.Logf("fill stopped at %d: %v", i, err)
				break
			}
		}
	}, func() {
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMonitorFragmentation(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	ctx := context.Background()
	// Start with enough data that the ratio is low, then delete most of it:
	// the allocator keeps the pages, so resident memory stays while used drops.
	fill := func(prefix string, n int) {
		for start := 0; start < n; start += 1000 {
			args := make([]any, 0, 2000)
			for i := start; i < start+1000; i++ {
				args = append(args, fmt.Sprint(prefix, i), strings.Repeat("x", 200))
			}
			if err := rdb.MSet(ctx, args...).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill("base:", 100_000)
	a := startMonitor(t, rdb, metrics.MonitorOptions{FragmentationMinMemory: -1, FragmentationThreshold: 1.5})
	expectFireThenResolve(t, a, metrics.AlertFragmentation, func() {
		var cursor uint64
		for {
			keys, next, err := rdb.Scan(ctx, cursor, "base:*", 10_000).Result()
			if err != nil {
				t.Fatal(err)
			}
			var doomed []string
			for i, k := range keys {
				if i%10 != 0 { // leave one key in ten: the pages stay in use
					doomed = append(doomed, k)
				}
			}
			if len(doomed) > 0 {
				if err := rdb.Del(ctx, doomed...).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}, func() {
		fill("again:", 200_000)
	})
}

func TestMonitorClients(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxclients 20")
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	a := startMonitor(t, rdb, metrics.MonitorOptions{FragmentationThreshold: 1e9})
	var conns []net.Conn
	expectFireThenResolve(t, a, metrics.AlertClients, func() {
		for range 18 {
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
		}
	}, func() {
		for _, c := range conns {
			c.Close()
		}
	})
}

func TestMonitorBlockedClients(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	blockers := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 20})
	defer blockers.Close()
	a := startMonitor(t, rdb, metrics.MonitorOptions{FragmentationThreshold: 1e9})
	ctx := context.Background()
	var wg sync.WaitGroup
	defer wg.Wait()
	expectFireThenResolve(t, a, metrics.AlertBlockedClients, func() {
		for range 11 {
			wg.Go(func() { _ = blockers.BLPop(ctx, 10*time.Second, "queue").Err() })
		}
	}, func() {
		for i := range 11 {
			if err := rdb.LPush(ctx, "queue", i).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestMonitorSlowCommands(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "enable-debug-command yes")
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "slowlog-log-slower-than", "0").Err(); err != nil {
		t.Fatal(err)
	}
	a := startMonitor(t, rdb, metrics.MonitorOptions{FragmentationThreshold: 1e9})
	expectFireThenResolve(t, a, metrics.AlertSlowCommands, func() {
		if err := rdb.Do(ctx, "DEBUG", "SLEEP", "0.05").Err(); err != nil {
			t.Fatal(err)
		}
	}, func() {}) // the next polls find no new slow command
}

func TestNewMonitorRejectsBadOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	ok := func(metrics.Alert) {}
	for _, opts := range []metrics.MonitorOptions{
		{},
		{OnAlert: ok, Interval: -time.Second},
		{OnAlert: ok, MemoryThreshold: 1.5},
		{OnAlert: ok, ClientsThreshold: -0.1},
		{OnAlert: ok, BlockedClientsThreshold: -1},
		{OnAlert: ok, FragmentationMinMemory: -2},
		{OnAlert: ok, SlowlogThreshold: -time.Millisecond},
	} {
		if _, err := metrics.NewMonitor(rdb, opts); err == nil || !strings.Contains(err.Error(), "MonitorOptions.") {
			t.Errorf("NewMonitor(%+v): %v, want an error naming the field", opts, err)
		}
	}
}
