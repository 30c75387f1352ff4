package cache_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// loadSeconds is how long the load tests read: NEAR_LOAD_SECONDS, or 6.
func loadSeconds(t *testing.T) time.Duration {
	if s := os.Getenv("NEAR_LOAD_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("NEAR_LOAD_SECONDS: %v", err)
		}
		return time.Duration(n) * time.Second
	}
	return 6 * time.Second
}

// readFor reads keys round robin from goroutines until d has passed.
func readFor(c *cache.Cache[product], keys []string, goroutines int, d time.Duration) {
	ctx := context.Background()
	load := func(_ context.Context, id string) (product, error) { return product{ID: id}, nil }
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for g := range goroutines {
		wg.Go(func() {
			for i := g; time.Now().Before(stop); i++ {
				_, _ = c.Get(ctx, keys[i%len(keys)], load)
			}
		})
	}
	wg.Wait()
}

// 10k hot keys read continuously: the reads that reach Redis per second with
// the default MaxStaleness, side by side with the previous default (5 s), in
// the same run.
func TestNearHotKeysReachRedisRarely(t *testing.T) {
	srv := redistest.StartServer(t)
	d := loadSeconds(t)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	type run struct {
		name string
		c    *cache.Cache[product]
	}
	var runs []run
	for _, r := range []struct {
		name      string
		staleness time.Duration
	}{{"default MaxStaleness (1 min)", 0}, {"MaxStaleness 5 s (the previous default)", 5 * time.Second}} {
		near := newNear(t, cache.NearOptions{MaxStaleness: r.staleness})
		c := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: fmt.Sprintf("hot%d:", len(runs)), TTL: time.Hour, Near: near})
		waitServing(t, near)
		ctx := context.Background()
		load := func(_ context.Context, id string) (product, error) { return product{ID: id}, nil }
		redistest.Eventually(t, 60*time.Second, "every key in the near tier", func() bool {
			before := c.Stats().NearHits
			for _, k := range keys {
				_, _ = c.Get(ctx, k, load)
			}
			return c.Stats().NearHits-before == uint64(len(keys))
		})
		runs = append(runs, run{r.name, c})
	}
	before := make([]cache.Stats, len(runs))
	for i, r := range runs {
		before[i] = r.c.Stats()
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { readFor(r.c, keys, 4, d) })
	}
	wg.Wait()
	rates := make([]float64, len(runs))
	var report strings.Builder
	for i, r := range runs {
		s := r.c.Stats()
		reads := (s.Hits + s.Misses + s.NegativeHits + s.Fallbacks) - (before[i].Hits + before[i].Misses + before[i].NegativeHits + before[i].Fallbacks)
		near := s.NearHits - before[i].NearHits
		rates[i] = float64(reads) / d.Seconds()
		fmt.Fprintf(&report, "\n%s: %.0f GETs/s to Redis, %.0f near hits/s, loads %d", r.name, rates[i], float64(near)/d.Seconds(), s.Misses-before[i].Misses)
	}
	t.Logf("10k hot keys read for %v:%s", d, report.String())
	if rates[0]*3 > rates[1] {
		t.Fatalf("the default sends %.0f GETs/s, the previous default %.0f: want far fewer", rates[0], rates[1])
	}
}

// A hot key on a 3-master cluster read by 64 goroutines: the GETs its shard
// serves (INFO commandstats), with and without the near tier, in turn.
func TestNearHotKeyOnAClusterSparesItsShard(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	d := loadSeconds(t) / 2
	shardGets := func(key string) int64 {
		rdb := cl.MasterOf(key).Client(t)
		stats, err := rdb.Info(context.Background(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(stats, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_get:calls="); ok {
				n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
				return n
			}
		}
		return 0
	}
	var report strings.Builder
	var gets [2]int64
	var reads [2]uint64
	for i, withNear := range []bool{false, true} {
		opts := cache.Options{Prefix: fmt.Sprintf("hk%d:", i), TTL: time.Hour}
		var near *cache.Near
		if withNear {
			near = newNear(t, cache.NearOptions{})
			opts.Near = near
		}
		c := newCache(t, redis.UniversalClient(cl.Client(t)), opts)
		if near != nil {
			waitServing(t, near)
		}
		readFor(c, []string{"hot"}, 1, 100*time.Millisecond)
		start := shardGets(opts.Prefix + "hot")
		s0 := c.Stats()
		readFor(c, []string{"hot"}, 64, d)
		gets[i] = shardGets(opts.Prefix+"hot") - start
		s := c.Stats()
		reads[i] = s.Requests() - s0.Requests()
		fmt.Fprintf(&report, "\nnear tier %v: %d Gets served, the shard served %d GETs (%.0f/s)", withNear, reads[i], gets[i], float64(gets[i])/d.Seconds())
		if near != nil {
			fmt.Fprintf(&report, "; %+v", near.Stats())
		}
		c.Close()
	}
	t.Logf("a hot key on a 3-master cluster, 64 goroutines for %v each:%s", d, report.String())
	// On an idle host the shard serves no GET at all with the tier. On a
	// saturated one a late heartbeat stops the tier serving until its
	// connection is heard again (it never serves what it cannot vouch for),
	// and meanwhile the 64 readers go to Redis: at least a tenfold cut still.
	if gets[1]*10 > gets[0] {
		t.Fatalf("the shard served %d GETs with the near tier, %d without: want a tenth at most", gets[1], gets[0])
	}
}
