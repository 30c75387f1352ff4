package metrics_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/fakecluster"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/metrics"
)

// A slot map that names 200 dead nodes, new ones at every reload, out of
// 1000: the "node" label keeps at most MaxNodeLabels values of addresses
// (and "other" for the rest), scraped all along the churn.
func TestChurningClusterNodeLabelsStayCapped(t *testing.T) {
	t.Parallel()
	const maxLabels = 50
	fc := fakecluster.Start(t, fakecluster.Options{Nodes: 200, Pool: 1000})
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg, MaxNodeLabels: maxLabels})
	if err != nil {
		t.Fatal(err)
	}
	c, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: []string{fc.Addr()}, IsClusterMode: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := m.Instrument(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cc := c.UniversalClient.(*redis.ClusterClient)
	var wg sync.WaitGroup
	// Until the map changed ten times (4 s on an idle machine), 30 s at most.
	var stopped atomic.Bool
	deadline := time.Now().Add(30 * time.Second)
	running := func() bool {
		if !stopped.Load() && (fc.Reloads() >= 10 || time.Now().After(deadline)) {
			stopped.Store(true)
		}
		return !stopped.Load()
	}
	for range 8 {
		wg.Go(func() {
			for running() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				c.Get(ctx, "k"+strconv.Itoa(rand.IntN(1<<20)))
				cancel()
			}
		})
	}
	wg.Go(func() {
		for running() {
			cc.ReloadState(context.Background()) // as MOVED replies would
			time.Sleep(50 * time.Millisecond)
		}
	})
	seen := map[string]bool{}
	most, mostSeries := 0, 0
	for running() {
		values, perFamily, series := nodeLabels(t, reg)
		for v := range values {
			seen[v] = true
		}
		most, mostSeries = max(most, len(values)), max(mostSeries, series)
		for name, n := range perFamily {
			if n > maxLabels+1 {
				t.Fatalf("%s: %d node label values in one scrape, want at most %d and other", name, n, maxLabels)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("%d slot maps: at most %d node label values (%d series with a node label) in one scrape while it churns, %d values over all scrapes",
		fc.Reloads(), most, mostSeries, len(seen))
	if fc.Reloads() < 3 {
		t.Fatalf("the slot map was loaded %d times: no churn to judge", fc.Reloads())
	}
	if !seen["other"] {
		t.Fatalf("no node=\"other\" with %d servers and a cap of %d", len(seen), maxLabels)
	}
	// A scrape is not one instant: while the map churns, one family may
	// show servers that another's values had given back. Once it is still,
	// they all show the same at most maxLabels servers.
	var values map[string]bool
	redistest.Eventually(t, 10*time.Second, "the node label values settle", func() bool {
		values, _, _ = nodeLabels(t, reg)
		return len(values) <= maxLabels+1
	})
}

// nodeLabels returns the values of the "node" label in one scrape, how many
// each family has, and how many series carry one.
func nodeLabels(t *testing.T, g prometheus.Gatherer) (map[string]bool, map[string]int, int) {
	values := map[string]bool{}
	perFamily := map[string]int{}
	series := 0
	for name, f := range gather(t, g) {
		family := map[string]bool{}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "node" {
					values[l.GetValue()] = true
					family[l.GetValue()] = true
					series++
				}
			}
		}
		perFamily[name] = len(family)
	}
	return values, perFamily, series
}
