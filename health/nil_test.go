package health_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
)

// nilClients are the nil clients a program may pass by mistake: typed nils
// inside the interface are not == nil, and any call on them panics.
var nilClients = []struct {
	name string
	rdb  redis.UniversalClient
}{
	{"nil", nil},
	{"*redis.Client", (*redis.Client)(nil)},
	{"*redis.ClusterClient", (*redis.ClusterClient)(nil)},
	{"*redisguard.Client", (*redisguard.Client)(nil)},
}

func TestNilClientsAreAClearError(t *testing.T) {
	t.Parallel()
	for _, nc := range nilClients {
		t.Run(nc.name, func(t *testing.T) {
			t.Parallel()
			got := "got nil"
			if nc.rdb != nil {
				got = "got a nil " + nc.name
			}
			for fn, h := range map[string]http.Handler{
				"Handler":   health.Handler(nc.rdb),
				"Readiness": health.Readiness(nc.rdb, health.Options{Optional: true}),
			} {
				want := "no Redis client: " + fn + " " + got
				a, b := get(t, h)
				if a.code != http.StatusInternalServerError || b.Status != "unhealthy" || b.Error != want {
					t.Errorf("%s: answer %d %s, want 500 %q", fn, a.code, a.body, want)
				}
				a, hb := getHealth(t, h)
				if a.code != http.StatusInternalServerError || hb.Status != "fail" || hb.Output != want {
					t.Errorf("%s, health+json: answer %d %s, want 500 fail", fn, a.code, a.body)
				}
			}
			for fn, newHandler := range map[string]func(redis.UniversalClient, ...health.Options) (http.Handler, error){
				"NewHandler":   health.NewHandler,
				"NewReadiness": health.NewReadiness,
			} {
				h, err := newHandler(nc.rdb)
				if h != nil || !errors.Is(err, health.ErrNoClient) || err.Error() != "health: no Redis client: "+fn+" "+got {
					t.Errorf("%s: %v, %v; want ErrNoClient naming the type", fn, h, err)
				}
			}
			res := health.Check(context.Background(), nc.rdb)
			if res.Status != health.StatusUnhealthy || !errors.Is(res.Err, health.ErrNoClient) || res.Message() != "no Redis client: Check "+got {
				t.Errorf("Check: %+v (%q)", res, res.Message())
			}
		})
	}
	t.Run("Liveness", func(t *testing.T) {
		t.Parallel()
		a, b := get(t, health.Liveness(nil))
		if a.code != http.StatusInternalServerError || b.Error != "no Redis client: Liveness got a nil *redisguard.Client" {
			t.Errorf("Liveness(nil): answer %d %s, want 500", a.code, a.body)
		}
		h, err := health.NewLiveness(nil)
		if h != nil || !errors.Is(err, health.ErrNoClient) {
			t.Errorf("NewLiveness(nil): %v, %v; want ErrNoClient", h, err)
		}
	})
}

// brokenClient is not nil, but every call on it panics: its embedded
// interface is.
type brokenClient struct{ redis.UniversalClient }

func TestCheckNeverPanics(t *testing.T) {
	t.Parallel()
	for name, rdb := range map[string]redis.UniversalClient{
		"embedded nil interface": brokenClient{},
		"zero redis.Client":      &redis.Client{},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := health.Check(context.Background(), rdb)
			if res.Status != health.StatusUnhealthy || res.Err == nil || res.Message() != "PING panicked" {
				t.Fatalf("Check: %+v (%q)", res, res.Message())
			}
			a, b := get(t, health.Handler(rdb))
			if a.code != http.StatusServiceUnavailable || b.Error != "PING panicked" {
				t.Fatalf("Handler: answer %d %s, want 503 PING panicked", a.code, a.body)
			}
		})
	}
}
