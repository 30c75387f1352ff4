package redisguard

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/redistest"
)

// commandLog is what goroutines without deadlines saw: every command
// returns, and the refusals for a node that is down come at once.
type commandLog struct {
	mu       sync.Mutex
	ok, fail int
	refusals []time.Duration // how long each ErrNotReady took
}

func (l *commandLog) add(err error, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil || err == redis.Nil:
		l.ok++
	case errors.Is(err, ErrNotReady):
		l.refusals = append(l.refusals, took)
		fallthrough
	default:
		l.fail++
	}
}

// percentiles returns the median refusal time and the 90th percentile.
func (l *commandLog) percentiles() (p50, p90 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.refusals) == 0 {
		return 0, 0
	}
	s := slices.Clone(l.refusals)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*9/10]
}

// runWithoutDeadlines sends SETs and GETs on keys from goroutines whose
// contexts have no deadline, until stop is closed; it returns a function that
// waits, at most timeout, for every goroutine to return, and reports how many
// are still stuck in a command.
func runWithoutDeadlines(rdb redis.UniversalClient, keys []string, goroutines int, log *commandLog, stop <-chan struct{}) (wait func(timeout time.Duration) int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	running := goroutines
	for i := range goroutines {
		wg.Go(func() {
			defer func() { mu.Lock(); running--; mu.Unlock() }()
			key := keys[i%len(keys)]
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				var err error
				if n%2 == 0 {
					err = rdb.Set(context.Background(), key, n, 0).Err()
				} else {
					err = rdb.Get(context.Background(), key).Err()
				}
				log.add(err, time.Since(start))
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return func(timeout time.Duration) int {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return 0
		case <-time.After(timeout):
			mu.Lock()
			defer mu.Unlock()
			return running
		}
	}
}

// A master killed and its replica promoted, twice, under 32 goroutines
// without deadlines: every command returns, and the refusals for the dead
// master come at once (go-redis's cluster loop does not retry them).
func TestClusterFailoverTwiceEveryCommandReturns(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: 2 * time.Second})
	keys := cl.KeysOnEveryShard(4)
	victim := cl.MasterOf(keys.All()[0])
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true}})
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	t.Cleanup(func() { _ = plain.Close() })

	var guarded, plainLog commandLog
	stop := make(chan struct{})
	waitGuarded := runWithoutDeadlines(c, keys[victim], 32, &guarded, stop)
	waitPlain := runWithoutDeadlines(plain, keys[victim], 32, &plainLog, stop)
	time.Sleep(500 * time.Millisecond)

	listed := func(addr string) bool {
		for _, s := range c.Nodes() {
			if s.Addr == addr {
				return true
			}
		}
		return false
	}
	for round := 1; round <= 2; round++ {
		victim.Kill()
		promoted := cl.WaitFailover(t, victim, 30*time.Second)
		failedOver := time.Now()
		// The slot map no longer names the dead master: it leaves Nodes()
		// (and the metrics, through OnNodeRemoved).
		redistest.Eventually(t, 10*time.Second, "the dead master gone from Nodes()", func() bool { return !listed(victim.Addr()) })
		t.Logf("round %d: the dead master left Nodes() %v after the failover", round, time.Since(failedOver).Round(time.Millisecond))
		time.Sleep(time.Until(failedOver.Add(2 * time.Second))) // commands to the promoted replica
		victim.Restart()                                        // it comes back as a replica
		cl.WaitSettled(t, 30*time.Second)
		t.Logf("round %d: %s killed, %s promoted", round, victim.Addr(), promoted.Addr())
		victim = promoted
	}
	time.Sleep(time.Second)
	close(stop)
	stuckGuarded, stuckPlain := waitGuarded(30*time.Second), waitPlain(30*time.Second)
	g50, g90 := guarded.percentiles()
	t.Logf("redisguard: %d ok, %d failed, %d refusals (median %v, p90 %v), %d goroutines stuck", guarded.ok, guarded.fail, len(guarded.refusals), g50, g90, stuckGuarded)
	t.Logf("plain go-redis: %d ok, %d failed, %d goroutines stuck", plainLog.ok, plainLog.fail, stuckPlain)
	if stuckGuarded != 0 {
		t.Errorf("%d goroutines still in a command 30 s after the load stopped", stuckGuarded)
	}
	if g50 > 10*time.Millisecond {
		t.Errorf("refusals for the dead master took %v (median), want at most 10 ms", g50)
	}
}

// An old master whose breaker was left open, killed, and back as a replica of
// its promoted one, gets no commands: its breaker must not stay open or
// half-open. The reconnect attempt that found it answering gives it a
// closed one.
func TestClusterOldMasterBackAsAReplicaHasAClosedBreaker(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: 2 * time.Second})
	keys := cl.KeysOnEveryShard(2)
	victim := cl.MasterOf(keys.All()[0])
	rec := newRecorder()
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true}, Hooks: rec.hooks()})
	redistest.StartLoad(t, c, redistest.LoadConfig{Keys: keys.All(), Goroutines: len(keys.All())})
	status := func() (NodeStatus, bool) {
		for _, s := range c.Nodes() {
			if s.Addr == victim.Addr() {
				return s, true
			}
		}
		return NodeStatus{}, false
	}
	redistest.Eventually(t, 10*time.Second, "the victim's node", func() bool { _, ok := status(); return ok })
	var live *circuit.Breaker
	for _, n := range c.cluster.list() {
		if n.address() == victim.Addr() {
			live = n.breaker.Load()
		}
	}
	for range 5 {
		ticket, _ := live.Allow()
		live.Done(ticket, breaker.ErrSlowCall)
	}
	if st := live.State(); st == circuit.StateClosed {
		t.Fatalf("the victim's breaker is %v after 5 slow calls", st)
	}
	victim.Kill()
	cl.WaitFailover(t, victim, 30*time.Second)
	victim.Restart()
	redistest.Eventually(t, 30*time.Second, "the old master listed again, ready, its breaker closed", func() bool {
		s, ok := status()
		return ok && s.State == StateReady && s.Breaker.State == breaker.StateClosed
	})
	t.Logf("breaker changes: %v", rec.breakerChanges())
}
