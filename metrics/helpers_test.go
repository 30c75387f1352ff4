package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// gathered indexes the metrics a registry exposes.
type gathered map[string]*dto.MetricFamily

func gather(t testing.TB, g prometheus.Gatherer) gathered {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := gathered{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// metric returns the series of name whose labels include the given pairs
// ("label=value"), or nil.
func (g gathered) metric(name string, labels ...string) *dto.Metric {
	mf := g[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, labels) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for _, l := range labels {
		name, value, _ := strings.Cut(l, "=")
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == name && lp.GetValue() == value {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// value returns the value of a counter or gauge series, or -1 when absent.
func (g gathered) value(name string, labels ...string) float64 {
	m := g.metric(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// guarded returns a redisguard client to addr, closed when the test ends.
func guarded(t testing.TB, addr string, opts redisguard.Options) *redisguard.Client {
	t.Helper()
	opts.Redis = &redis.UniversalOptions{Addrs: []string{addr}}
	c, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}
