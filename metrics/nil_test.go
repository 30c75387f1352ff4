package metrics_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/metrics"
)

func TestNilClientsAreAClearError(t *testing.T) {
	t.Parallel()
	for _, nc := range []struct {
		name string
		rdb  redis.UniversalClient
	}{
		{"nil", nil},
		{"*redis.Client", (*redis.Client)(nil)},
		{"*redis.ClusterClient", (*redis.ClusterClient)(nil)},
		{"*redisguard.Client", (*redisguard.Client)(nil)},
	} {
		t.Run(nc.name, func(t *testing.T) {
			t.Parallel()
			got := "got nil"
			if nc.rdb != nil {
				got = "got a nil " + nc.name
			}

			mon, err := metrics.NewMonitor(nc.rdb, metrics.MonitorOptions{OnAlert: func(metrics.Alert) {}})
			if mon != nil || !errors.Is(err, metrics.ErrNoClient) || !strings.Contains(err.Error(), "NewMonitor "+got) {
				t.Errorf("NewMonitor: %v, %v; want ErrNoClient naming the type", mon, err)
			}

			reg := prometheus.NewRegistry()
			err = reg.Register(metrics.NewServerCollector(nc.rdb, metrics.ServerOptions{}))
			if !errors.Is(err, metrics.ErrNoClient) || !strings.Contains(err.Error(), "NewServerCollector "+got) {
				t.Errorf("registering NewServerCollector's collector: %v; want ErrNoClient naming the type", err)
			}
			if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
				t.Errorf("after the failed registration: %d families, %v; want an empty registry", len(mfs), err)
			}
		})
	}
	t.Run("Instrument", func(t *testing.T) {
		t.Parallel()
		m, err := metrics.New(metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Instrument(nil)
		if !errors.Is(err, metrics.ErrNoClient) || err.Error() != "metrics: no Redis client: Instrument got a nil *redisguard.Client" {
			t.Errorf("Instrument(nil): %v", err)
		}
	})
	t.Run("collected unregistered", func(t *testing.T) {
		t.Parallel()
		ch := make(chan prometheus.Metric, 1)
		metrics.NewServerCollector(nil, metrics.ServerOptions{}).Collect(ch)
		if err := (<-ch).Write(nil); !errors.Is(err, metrics.ErrNoClient) {
			t.Errorf("the metric collected: %v; want ErrNoClient", err)
		}
	})
}
