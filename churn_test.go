package redisguard

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/fakecluster"
	"go.uber.org/goleak"
)

// A cluster whose slot map names 200 nodes that never answer, and new ones at
// every reload: GETs keep their own deadlines (go-redis's fetch of COMMAND
// info, which waits up to 5 s or for ever under a lock every command needs,
// is answered by the guard: see commandInfo), the guard's own goroutines stay
// bounded while the map churns and end with the nodes it drops, and every
// goroutine is gone after Close. A plain go-redis client does the same work
// beside it where it can: against silent nodes its GETs wait for minutes
// (its fetch of COMMAND info has no deadline), so there the guard is judged
// against the deadline alone. The test is not parallel, so that goleak and
// the goroutine counts see only its own.
func TestChurningClusterKeepsDeadlines(t *testing.T) {
	for _, silent := range []bool{false, true} {
		t.Run("silent="+strconv.FormatBool(silent), func(t *testing.T) {
			// Registered first, the check runs last: after the fake cluster
			// closed too.
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) })
			fc := fakecluster.Start(t, fakecluster.Options{Nodes: 200, Pool: 1000, Silent: silent})
			c, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{fc.Addr()}, IsClusterMode: true}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			clients := []*churnLoad{{name: "guarded", rdb: c, cc: c.UniversalClient.(*redis.ClusterClient)}}
			if !silent {
				plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{fc.Addr()}})
				t.Cleanup(func() { plain.Close() })
				clients = append(clients, &churnLoad{name: "plain", rdb: plain, cc: plain})
			}

			// 5 s, and on a churning map until it changed ten times (30 s at
			// most: a loaded machine reloads it slowly).
			var wg sync.WaitGroup
			var stopped atomic.Bool
			start := time.Now()
			running := func() bool {
				if !stopped.Load() && time.Since(start) > 5*time.Second && (silent || fc.Reloads() >= 10 || time.Since(start) > 30*time.Second) {
					stopped.Store(true)
				}
				return !stopped.Load()
			}
			for _, l := range clients {
				l.run(&wg, running)
			}
			// The map changes at every reload; reloads come as often as
			// MOVED replies would bring them.
			for _, l := range clients {
				wg.Go(func() {
					for running() {
						l.cc.ReloadState(context.Background())
						time.Sleep(50 * time.Millisecond)
					}
				})
			}
			var peak goroutines
			wg.Go(func() {
				for running() {
					if n := countGoroutines(); n.guard > peak.guard {
						peak = n
					}
					time.Sleep(100 * time.Millisecond)
				}
			})
			wg.Wait()
			for _, l := range clients {
				t.Logf("%s: %s", l.name, l)
			}
			t.Logf("%d slot maps; the guard's goroutines at most %d (go-redis's own, both clients', then: %d)", fc.Reloads(), peak.guard, peak.goRedis)
			// Silent nodes hold each reload for go-redis's read timeout per
			// node it asks: that map barely changes, and the test is about
			// the deadlines there.
			if !silent && fc.Reloads() < 3 {
				t.Fatalf("the slot map was loaded %d times: no churn to judge", fc.Reloads())
			}
			g := clients[0]
			bound := churnDeadline + time.Second // generous, for a loaded machine
			if len(clients) > 1 {
				bound = max(bound, clients[1].worst()+time.Second)
			}
			if g.worst() > bound {
				t.Fatalf("a GET with a %v deadline took %v", churnDeadline, g.worst())
			}
			// At most 2 % of the GETs on the live node fail, or, on a host too
			// loaded for that, twice plain go-redis's share. (Beside the rest
			// of the suite under the race detector, 0.1-1.9 % of the guard's
			// 100 ms GETs there missed their deadline, plain's 0.4-25 %.)
			allowed := 0.02
			if len(clients) > 1 {
				allowed = max(allowed, 2*clients[1].liveFailed())
			}
			if g.liveFailed() > allowed {
				t.Fatalf("%.1f %% of the GETs on the live node failed (%d), first %v", 100*g.liveFailed(), len(g.liveErrs), g.liveErrs[0])
			}
			// At most one supervisor per node go-redis holds a client for,
			// and go-redis runs goroutines of its own for each.
			if peak.guard > peak.goRedis+20 {
				t.Fatalf("%d goroutines of the guard while the map churns, for %d of go-redis's own", peak.guard, peak.goRedis)
			}
			// Once the map stops changing, the supervisors of the nodes it
			// no longer names end (at their next failed attempt, once a
			// reload of the map succeeded, which takes a while on a loaded
			// host): one per node it names, at most (the still map names
			// 200 that never answer, each supervised), and a few that come
			// and go: drains, replacements, the pass that takes in a map
			// go-redis reloaded. The supervisors of the dropped nodes left
			// running would be a hundred more.
			fc.Freeze()
			const still = 200 + 40
			var now goroutines
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if now = countGoroutines(); now.guard <= still {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the supervisors of dropped nodes end: %d goroutines of the guard 30 s after the map stopped changing, want at most %d; by function: %v",
						now.guard, still, now.byFunc)
				}
			}
			t.Logf("the guard's goroutines once the map is still: %d, by function: %v", now.guard, now.byFunc)
		})
	}
}

const churnDeadline = 100 * time.Millisecond

// churnLoad runs GETs with churnDeadline deadlines from 16 goroutines: half
// ask a key the live node serves, half keys spread over every node of the map.
type churnLoad struct {
	name     string
	rdb      redis.UniversalClient
	cc       *redis.ClusterClient // rdb's go-redis client
	mu       sync.Mutex
	took     []time.Duration
	liveErrs []error
}

func (l *churnLoad) run(wg *sync.WaitGroup, running func() bool) {
	for g := range 16 {
		wg.Go(func() {
			for running() {
				live := g%2 == 0
				key := fakecluster.LiveKey()
				if !live {
					key = "k" + strconv.Itoa(rand.IntN(1<<20))
				}
				ctx, cancel := context.WithTimeout(context.Background(), churnDeadline)
				start := time.Now()
				err := l.rdb.Get(ctx, key).Err()
				d := time.Since(start)
				cancel()
				l.mu.Lock()
				l.took = append(l.took, d)
				if live && err != nil && !errors.Is(err, redis.Nil) {
					l.liveErrs = append(l.liveErrs, err)
				}
				l.mu.Unlock()
			}
		})
	}
}

func (l *churnLoad) worst() time.Duration { return slices.Max(l.took) }

// liveFailed is the share of the GETs on the live node that failed: half
// the GETs asked it.
func (l *churnLoad) liveFailed() float64 {
	return float64(len(l.liveErrs)) / max(1, float64(len(l.took))/2)
}

func (l *churnLoad) String() string {
	s := slices.Sorted(slices.Values(l.took))
	return strconv.Itoa(len(s)) + " GETs: median " + s[len(s)/2].String() + ", p99 " + s[len(s)*99/100].String() +
		", worst " + s[len(s)-1].String() + "; " + strconv.Itoa(len(l.liveErrs)) + " failed on the live node"
}

// goroutines counts the goroutines running the guard's code (its
// supervisors, watch, drains, dial waits) and those running go-redis's code
// alone, not the test's.
type goroutines struct {
	guard, goRedis int
	byFunc         map[string]int // the guard's, by the innermost of its functions
}

func countGoroutines() goroutines {
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	n := goroutines{byFunc: make(map[string]int)}
	for g := range strings.SplitSeq(b.String(), "\n\n") {
		switch {
		case strings.Contains(g, "redisguard/redisguard.Test"):
		case strings.Contains(g, "redisguard/redisguard.(*"):
			n.guard++
			// The innermost of the guard's frames says what it waits in.
			i := strings.Index(g, "redisguard/redisguard.(*")
			fn, _, _ := strings.Cut(g[i+len("redisguard/redisguard."):], "(0x")
			n.byFunc[fn]++
		case strings.Contains(g, "redis/go-redis/v9"):
			n.goRedis++
		}
	}
	return n
}
