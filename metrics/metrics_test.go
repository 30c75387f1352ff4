package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/guardtest"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

func TestCommandsAreCountedAndTimed(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	c := guarded(t, srv.Addr(), redisguard.Options{})
	if err := m.Instrument(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const gets, sets = 37, 23
	for i := range sets {
		if err := c.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range gets {
		_ = c.Get(ctx, fmt.Sprint("k", i)).Err() // 14 of them miss: redis.Nil is no error
	}
	_ = c.LPush(ctx, "list", "x").Err()
	if err := c.Get(ctx, "list").Err(); err == nil {
		t.Fatal("GET on a list succeeded")
	}

	g := gather(t, reg)
	if n := g.value("redis_commands_total", "command=get"); n != gets+1 {
		t.Fatalf("redis_commands_total{command=get} = %v, want %d", n, gets+1)
	}
	if n := g.value("redis_commands_total", "command=set"); n != sets {
		t.Fatalf("redis_commands_total{command=set} = %v, want %d", n, sets)
	}
	h := g.metric("redis_command_duration_seconds", "command=get").GetHistogram()
	if h.GetSampleCount() != gets+1 || h.GetSampleSum() <= 0 {
		t.Fatalf("GET histogram: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	if n := g.metric("redis_command_duration_seconds", "command=set").GetHistogram().GetSampleCount(); n != sets {
		t.Fatalf("SET histogram: %d samples, want %d", n, sets)
	}
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	for _, seed := range []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5} {
		if !slices.Contains(bounds, seed) {
			t.Fatalf("buckets %v lack the usual %v", bounds, seed)
		}
	}
	if !slices.ContainsFunc(bounds, func(b float64) bool { return b < 0.001 }) {
		t.Fatalf("buckets %v have no sub-millisecond bound", bounds)
	}
	if n := g.value("redis_command_errors_total", "command=get", "reason=wrongtype"); n != 1 {
		t.Fatalf("redis_command_errors_total{get,wrongtype} = %v, want 1", n)
	}
	if g.metric("redis_command_errors_total", "reason=nil") != nil {
		t.Fatal("redis.Nil was counted as an error")
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestCommandLabelsAreBounded(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	reg := prometheus.NewRegistry()
	m, _ := metrics.New(metrics.Options{Registerer: reg})
	c := guarded(t, srv.Addr(), redisguard.Options{})
	if err := m.Instrument(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 10_000 {
		_ = c.Do(ctx, fmt.Sprintf("X%d", rand.Int64())).Err()
	}
	_ = c.Ping(ctx).Err()
	g := gather(t, reg)
	var labels []string
	for _, s := range g["redis_commands_total"].GetMetric() {
		labels = append(labels, s.GetLabel()[0].GetValue())
	}
	if want := []string{"other", "ping"}; !slices.Equal(labels, want) {
		t.Fatalf("redis_commands_total series after 10,000 random commands: %v, want %v", labels, want)
	}
	if n := g.value("redis_commands_total", "command=other"); n != 10_000 {
		t.Fatalf("redis_commands_total{command=other} = %v", n)
	}
	if n := len(g["redis_command_errors_total"].GetMetric()); n != 1 {
		t.Fatalf("%d error series, want 1 (other, err)", n)
	}
}

func TestLifecycleMetrics(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	reg := prometheus.NewRegistry()
	m, _ := metrics.New(metrics.Options{Registerer: reg})
	c := guarded(t, srv.Addr(), redisguard.Options{
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
		Breaker:   breaker.Settings{OpenTimeout: time.Hour},
	})
	if err := m.Instrument(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g := gather(t, reg)
	if g.value("redis_client_state", "state=ready") != 1 || g.value("redis_client_state", "state=reconnecting") != 0 {
		t.Fatal("the state gauge does not show ready")
	}

	node := "node=" + srv.Addr()
	if g.value("redis_client_node_state", node, "state=ready") != 1 || g.value("redis_client_reconnect_attempts_total", node) != 0 {
		t.Fatal("the server's own series do not show it ready, without reconnect attempts")
	}

	srv.Kill()
	_ = c.Ping(ctx).Err()
	redistest.Eventually(t, 5*time.Second, "a reconnect attempt", func() bool {
		return gather(t, reg).value("redis_client_reconnect_attempts_total", node) >= 1
	})
	g = gather(t, reg)
	if g.value("redis_client_state", "state=reconnecting") != 1 || g.value("redis_client_state", "state=ready") != 0 ||
		g.value("redis_client_node_state", node, "state=reconnecting") != 1 {
		t.Fatal("the state gauges do not show reconnecting")
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redisguard.ErrNotReady) {
		t.Fatal(err)
	}
	if gather(t, reg).value("redis_client_refused_total", "reason=not_ready") < 1 {
		t.Fatal("a refusal was not counted")
	}
	srv.Restart()
	redistest.Eventually(t, 5*time.Second, "ready again", func() bool {
		return gather(t, reg).value("redis_client_state", "state=ready") == 1
	})

	guardtest.OpenBreaker(t, c, srv)
	_ = c.Get(ctx, "k").Err()
	g = gather(t, reg)
	if g.value("redis_breaker_state", node, "state=open") != 1 || g.value("redis_breaker_state", node, "state=closed") != 0 {
		t.Fatal("the breaker gauge does not show open")
	}
	if n := g.value("redis_breaker_transitions_total", node, "from=closed", "to=open"); n != 1 {
		t.Fatalf("redis_breaker_transitions_total{closed→open} = %v", n)
	}
	if n := g.value("redis_client_refused_total", "reason=breaker_open"); n != 1 {
		t.Fatalf("redis_client_refused_total{breaker_open} = %v", n)
	}
	if g.value("redis_pool_misses_total", "pool=main") < 1 || g.value("redis_pool_connections", "pool=main") < 0 {
		t.Fatal("pool statistics missing")
	}
	if err := m.Instrument(c); !errors.Is(err, metrics.ErrAlreadyInstrumented) {
		t.Fatalf("second Instrument: %v", err)
	}
}

func TestHookForPlainClientsAndCacheObserver(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	reg := prometheus.NewRegistry()
	m, _ := metrics.New(metrics.Options{Registerer: reg, Namespace: "app_redis", ConstLabels: prometheus.Labels{"client": "plain"}})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	rdb.AddHook(m.Hook())
	ctx := context.Background()
	pipe := rdb.Pipeline()
	pipe.Set(ctx, "a", 1, 0)
	pipe.Incr(ctx, "a")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	g := gather(t, reg)
	if g.value("app_redis_commands_total", "command=set", "client=plain") != 1 || g.value("app_redis_commands_total", "command=incr") != 1 {
		t.Fatal("pipelined commands were not counted")
	}
	if g.metric("app_redis_command_duration_seconds", "command=pipeline").GetHistogram().GetSampleCount() != 1 {
		t.Fatal("the pipeline was not timed")
	}
	if g.metric("app_redis_commands_total", "command=pipeline") != nil {
		t.Fatal("a pipeline was counted as a command")
	}

	products, err := cache.New[string](rdb, cache.Options{Prefix: "p:", TTL: time.Minute, Observer: m.ObserveCache})
	if err != nil {
		t.Fatal(err)
	}
	load := func(context.Context, string) (string, error) { return "v", nil }
	for range 3 {
		if _, err := products.Get(ctx, "k", load); err != nil {
			t.Fatal(err)
		}
	}

	g = gather(t, reg)
	if g.value("app_redis_cache_requests_total", "cache=p", "result=hit") != 2 || g.value("app_redis_cache_requests_total", "cache=p", "result=miss") != 1 {
		t.Fatalf("cache results: %v hits, %v misses", g.value("app_redis_cache_requests_total", "result=hit"), g.value("app_redis_cache_requests_total", "result=miss"))
	}
	if rate := g.value("app_redis_cache_hit_rate", "cache=p"); rate < 0.66 || rate > 0.67 {
		t.Fatalf("app_redis_cache_hit_rate = %v, want 2/3", rate)
	}
	problems, _ := testutil.GatherAndLint(reg)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestNothingIsRegisteredGlobally(t *testing.T) {
	before, _ := prometheus.DefaultGatherer.Gather()
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := prometheus.DefaultGatherer.Gather()
	if len(after) != len(before) {
		t.Fatal("New registered metrics with the default registry")
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatalf("a Metrics built without a Registerer cannot be registered: %v", err)
	}
	if _, err := metrics.New(metrics.Options{Registerer: reg}); err == nil {
		t.Fatal("registering the same metrics twice succeeded")
	}
	if _, err := metrics.New(metrics.Options{Buckets: []float64{1, 0.5}}); err == nil {
		t.Fatal("decreasing buckets accepted")
	}
}

// Near-tier hits count as hits and requests; the cache's events are counted
// apart and stay out of the hit rate.
func TestCacheNearHitsAndEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []cache.Result{cache.ResultNearHit, cache.ResultMiss, cache.ResultInvalidationDeferred, cache.ResultNearEviction} {
		m.ObserveCache("p", r)
	}
	g := gather(t, reg)
	for _, want := range []struct {
		name, labelName, label string
		value                  float64
	}{
		{"redis_cache_requests_total", "result", "near_hit", 1},
		{"redis_cache_requests_total", "result", "miss", 1},
		{"redis_cache_events_total", "event", "invalidation_deferred", 1},
		{"redis_cache_events_total", "event", "near_eviction", 1},
		{"redis_cache_hit_rate", "", "", 0.5},
	} {
		labels := []string{"cache=p"}
		if want.labelName != "" {
			labels = append(labels, want.labelName+"="+want.label)
		}
		if got := g.value(want.name, labels...); got != want.value {
			t.Errorf("%s %v = %v, want %v", want.name, labels, got, want.value)
		}
	}
}
