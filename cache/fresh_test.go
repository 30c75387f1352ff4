package cache_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// freshRound runs 25 callers per instance on one cold key at once and returns
// how many loads it took and how long the round lasted.
func freshRound(t *testing.T, caches []*cache.Cache[product], key string) (int64, time.Duration) {
	t.Helper()
	var loads atomic.Int64
	load := func(_ context.Context, id string) (product, error) {
		loads.Add(1)
		time.Sleep(10 * time.Millisecond) // a database query
		return product{ID: id, Name: "cold"}, nil
	}
	var calls []func() error
	for _, c := range caches {
		calls = append(calls, slices.Repeat([]func() error{func() error {
			p, err := c.Get(context.Background(), key, load)
			if err == nil && p.ID != key {
				err = fmt.Errorf("Get(%s) = %+v", key, p)
			}
			return err
		}}, 25)...)
	}
	start := time.Now()
	atOnce(t, calls)
	return loads.Load(), time.Since(start)
}

// 8 instances that have just started (each its own new client and Cache,
// default options) × 25 callers on one cold key, the first two rounds after
// start: one instance loads, the others wait for its value, over guarded
// clients as over plain ones. Three starts; a round over guarded clients
// may lose a read to the loaded machine now and then (a read past the 100 ms
// budget is answered by the loader, as it should be), so the guarded rounds
// are judged by their median and the plain rounds, which have no budget on
// the socket, one by one.
func TestFreshInstancesShareOneLoad(t *testing.T) {
	srv := redistest.StartServer(t)
	fresh := func(guardedClients bool) []*cache.Cache[product] {
		out := make([]*cache.Cache[product], 8)
		for i := range out {
			var rdb redis.UniversalClient
			if guardedClients {
				g, err := redisguard.New(redisguard.Options{URL: "redis://" + srv.Addr()})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { g.Close() })
				rdb = g
			} else {
				c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
				t.Cleanup(func() { c.Close() })
				rdb = c
			}
			out[i] = newCache(t, rdb, cache.Options{Prefix: "fresh:"})
		}
		return out
	}
	var guardedLoads []int64
	var ratios []float64
	for start := range 3 {
		guardedCaches, plainCaches := fresh(true), fresh(false)
		for round := range 2 {
			key := fmt.Sprintf("s%d-r%d", start, round)
			pl, pt := freshRound(t, plainCaches, "p"+key)
			gl, gt := freshRound(t, guardedCaches, "g"+key)
			t.Logf("start %d, round %d: guarded %d loads in %v, plain %d loads in %v", start+1, round+1, gl, gt.Round(time.Millisecond), pl, pt.Round(time.Millisecond))
			if pl > 2 {
				t.Errorf("start %d, round %d: %d loads over plain clients, want at most 2", start+1, round+1, pl)
			}
			guardedLoads = append(guardedLoads, gl)
			ratios = append(ratios, float64(gt)/float64(pt))
		}
	}
	slices.Sort(guardedLoads)
	slices.Sort(ratios)
	loads, ratio := guardedLoads[len(guardedLoads)/2], ratios[len(ratios)/2]
	t.Logf("guarded rounds: median %d loads, median time %.2f× the plain round's", loads, ratio)
	if loads > 2 || ratio > 2 {
		t.Fatalf("guarded rounds: median %d loads and %.2f× the plain round's time; want at most 2 loads and 2×", loads, ratio)
	}
}
