package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/info"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

func TestServerCollectorMatchesInfo(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxmemory 64mb", "maxmemory-policy allkeys-lru", "maxclients 123")
	rdb := guarded(t, srv.Addr(), redisguard.Options{})
	ctx := context.Background()
	for i := range 100 {
		_ = rdb.Set(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i), strings.Repeat("v", 1000), 0).Err()
	}
	_ = rdb.Get(ctx, "missing").Err()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewServerCollector(rdb, metrics.ServerOptions{}))

	g := gather(t, reg)
	info := info.Parse(srv.Client(t).Info(ctx).Val())
	for _, tt := range []struct {
		metric string
		labels []string
		key    string
	}{
		{"redis_memory_bytes", []string{"type=max"}, "maxmemory"},
		{"redis_max_clients", nil, "maxclients"},
		{"redis_keyspace_misses_total", nil, "keyspace_misses"},
		{"redis_evicted_keys_total", nil, "evicted_keys"},
	} {
		want, _ := info.Float(tt.key)
		if got := g.value(tt.metric, tt.labels...); got != want {
			t.Errorf("%s = %v, INFO %s = %v", tt.metric, got, tt.key, want)
		}
	}
	if got := g.value("redis_memory_bytes", "type=max"); got != 64<<20 {
		t.Errorf("redis_memory_bytes{type=max} = %v, want 64 MiB", got)
	}
	// Values that move between two reads: they lie close to INFO's.
	used, _ := info.Float("used_memory")
	if got := g.value("redis_memory_bytes", "type=used"); got < used*0.5 || got > used*1.5 {
		t.Errorf("redis_memory_bytes{type=used} = %v, INFO used_memory %v", got, used)
	}
	if ratio := g.value("redis_memory_usage_ratio"); ratio <= 0 || ratio >= 1 {
		t.Errorf("redis_memory_usage_ratio = %v", ratio)
	}
	for _, name := range []string{"redis_memory_fragmentation_ratio", "redis_connected_clients", "redis_blocked_clients",
		"redis_keyspace_hits_total", "redis_instantaneous_ops_per_second", "redis_slowlog_length"} {
		if g.value(name) < 0 {
			t.Errorf("%s missing", name)
		}
	}
	if g.value("redis_db_keys", "db=db0") < 26 {
		t.Errorf("redis_db_keys{db=db0} = %v", g.value("redis_db_keys", "db=db0"))
	}
	if g.value("redis_server_up") != 1 || g.value("redis_server_scrape_errors_total") != 0 {
		t.Error("a good scrape is not reported up")
	}
	problems, _ := testutil.GatherAndLint(reg)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestServerCollectorSurvivesAUserWithoutInfo(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "user limited on >s3cret ~* +get +set +ping +hello +client +auth")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "limited", Password: "s3cret"})
	defer rdb.Close()
	if err := rdb.Info(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("INFO as the limited user: %v, want NOPERM", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewServerCollector(rdb, metrics.ServerOptions{}))
	for scrape := 1; scrape <= 2; scrape++ {
		g := gather(t, reg) // fails the test if the scrape fails
		if g.value("redis_server_up") != 0 || g.value("redis_server_scrape_errors_total") != float64(scrape) {
			t.Fatalf("scrape %d: up %v, errors %v", scrape, g.value("redis_server_up"), g.value("redis_server_scrape_errors_total"))
		}
		if g["redis_memory_bytes"] != nil {
			t.Fatal("memory reported without INFO")
		}
	}
}
