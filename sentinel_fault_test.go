package redisguard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/internal/wire"
)

// sentinelSideBySide is a master with two replicas watched by three
// Sentinels (quorum 2, down after 1 s), a guarded client and a plain go-redis
// failover client, and the same writes through both.
type sentinelSideBySide struct {
	group       *redistest.SentinelGroup
	guarded     *Client
	rec         *recorder
	guardedLoad *redistest.Load
	plainLoad   *redistest.Load
	keys        []string
}

// writes is a load command that only writes: every success landed on a master.
func writes(ctx context.Context, client redis.UniversalClient, key string, n int) error {
	return client.Set(ctx, key, n, 0).Err()
}

func startSentinelSideBySide(t *testing.T) *sentinelSideBySide {
	t.Helper()
	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 2, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs()},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
		Hooks:     rec.hooks(),
	})
	s := &sentinelSideBySide{group: g, guarded: c, rec: rec}
	for i := range 8 {
		s.keys = append(s.keys, fmt.Sprintf("w:%d", i))
	}
	cfg := redistest.LoadConfig{Keys: s.keys, Goroutines: len(s.keys), Pause: 2 * time.Millisecond, Timeout: 3 * time.Second, Command: writes}
	s.guardedLoad = redistest.StartLoad(t, c, cfg)
	s.plainLoad = redistest.StartLoad(t, g.FailoverClient(t), cfg)
	time.Sleep(300 * time.Millisecond)
	return s
}

// firstWrite returns when any key was first written after at.
func firstWrite(l *redistest.Load, at time.Time, keys []string) (time.Time, bool) {
	var first time.Time
	for _, key := range keys {
		if t, ok := l.FirstSuccess(at, key); ok && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first, !first.IsZero()
}

func TestSentinelMasterKilled(t *testing.T) {
	s := startSentinelSideBySide(t)
	old := s.group.Master()
	killed := time.Now()
	old.Kill()
	s.group.WaitSwitch(t, old, 20*time.Second)
	s.guardedLoad.WaitSuccess(t, killed, 10*time.Second, s.keys...)
	s.plainLoad.WaitSuccess(t, killed, 10*time.Second, s.keys...)
	time.Sleep(2 * time.Second)

	g, _ := firstWrite(s.guardedLoad, killed.Add(50*time.Millisecond), s.keys)
	p, _ := firstWrite(s.plainLoad, killed.Add(50*time.Millisecond), s.keys)
	t.Logf("first write on the promoted master %v after the kill (plain go-redis: %v)", g.Sub(killed).Round(time.Millisecond), p.Sub(killed).Round(time.Millisecond))
	if g.Sub(p) > 100*time.Millisecond {
		t.Errorf("the guarded client wrote on the new master %v after plain go-redis, want at most 100 ms", g.Sub(p).Round(time.Millisecond))
	}
	after := s.guardedLoad.Outcome(g, time.Now(), s.keys...)
	t.Logf("after the first write on the new master: %v", after)
	for text := range after.Errors {
		if strings.Contains(text, breaker.ErrOpen.Error()) {
			t.Errorf("breaker.ErrOpen after the client was ready on the new master: %v", after)
		}
	}
}

func TestSentinelMasterAndOneSentinelStopped(t *testing.T) {
	s := startSentinelSideBySide(t)
	old := s.group.Master()
	sentinel := s.group.Sentinels()[0]
	stopped := time.Now()
	old.Stop()
	sentinel.Stop()
	time.Sleep(10 * time.Second)
	old.Continue()
	sentinel.Continue()
	s.guardedLoad.WaitSuccess(t, time.Now(), 10*time.Second, s.keys...)
	time.Sleep(2 * time.Second)
	end := time.Now()

	g := s.guardedLoad.LongestGap(stopped, end, s.keys...)
	p := s.plainLoad.LongestGap(stopped, end, s.keys...)
	t.Logf("master and one sentinel stopped 10 s: no write for %v (plain go-redis: %v)", g.Round(time.Millisecond), p.Round(time.Millisecond))
	if g > p+250*time.Millisecond {
		t.Errorf("unavailable %v, plain go-redis %v: want no longer", g.Round(time.Millisecond), p.Round(time.Millisecond))
		for _, e := range s.rec.snapshot() {
			t.Logf("%v %v", e.at.Sub(stopped).Round(time.Millisecond), e)
		}
	}
}

// A failover the Sentinels carry out on purpose demotes the master while it
// still answers: READONLY for its clients.
func TestSentinelDemotedMaster(t *testing.T) {
	s := startSentinelSideBySide(t)
	old := s.group.Master()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.group.SentinelAddrs()[0]})
	defer sc.Close()
	demoted := time.Now()
	if err := sc.Failover(context.Background(), s.group.MasterName()).Err(); err != nil {
		t.Fatal(err)
	}
	s.group.WaitSwitch(t, old, 20*time.Second)
	s.guardedLoad.WaitSuccess(t, time.Now(), 10*time.Second, s.keys...)
	time.Sleep(time.Second)

	g, _ := firstWrite(s.guardedLoad, demoted.Add(50*time.Millisecond), s.keys)
	gap := s.guardedLoad.LongestGap(demoted, time.Now(), s.keys...)
	p := s.plainLoad.LongestGap(demoted, time.Now(), s.keys...)
	t.Logf("failover on purpose: writes stopped %v (plain go-redis: %v); first write after %v", gap.Round(time.Millisecond), p.Round(time.Millisecond), g.Sub(demoted).Round(time.Millisecond))
	t.Logf("guarded: %v", s.guardedLoad.Outcome(demoted, time.Now(), s.keys...))
	if gap > time.Second+s.sentinelSwitchTime() {
		t.Errorf("no write for %v after the demotion, want the new master used within 1 s", gap.Round(time.Millisecond))
	}
}

// sentinelSwitchTime is how long SENTINEL FAILOVER takes to promote a replica
// here: the writes cannot resume before.
func (s *sentinelSideBySide) sentinelSwitchTime() time.Duration { return 2 * time.Second }

// Writes in flight when the master moves: those never sent are sent to the
// new master, once; none is applied twice.
func TestSentinelWritesInFlightAreNeverDoubled(t *testing.T) {
	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 2, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs()},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
	})
	ctx := context.Background()
	const callers = 16
	var calls, acked [callers]atomic.Int64
	var closedConn, switched atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			key := fmt.Sprint("counter:", i)
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				calls[i].Add(1)
				err := c.Incr(cctx, key).Err()
				cancel()
				switch {
				case err == nil:
					acked[i].Add(1)
				case errors.Is(err, ErrMasterSwitched):
					switched.Add(1) // written to the old master before the switch
				case errors.Is(err, wire.ErrWriteOnClosed) || strings.Contains(err.Error(), "use of closed network connection"):
					closedConn.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	old := g.Master()
	sc := redis.NewSentinelClient(&redis.Options{Addr: g.SentinelAddrs()[0]})
	defer sc.Close()
	if err := sc.Failover(ctx, g.MasterName()).Err(); err != nil {
		t.Fatal(err)
	}
	g.WaitSwitch(t, old, 20*time.Second)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	check := g.FailoverClient(t)
	var sumCalls, sumAcked, sumValue int64
	for i := range callers {
		v, err := check.Get(ctx, fmt.Sprint("counter:", i)).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if v > calls[i].Load() {
			t.Errorf("counter %d is %d after %d INCR calls: a write was applied twice", i, v, calls[i].Load())
		}
		sumCalls += calls[i].Load()
		sumAcked += acked[i].Load()
		sumValue += v
	}
	t.Logf("%d INCR calls, %d acknowledged, counters sum to %d; %d failed on a connection closed before the write, %d were in flight at the switch", sumCalls, sumAcked, sumValue, closedConn.Load(), switched.Load())
	if closedConn.Load() != 0 {
		t.Errorf("%d writes failed on a connection closed before they were written: they should have gone to the new master", closedConn.Load())
	}
}

// A failover client the application built itself and wrapped: go-redis finds
// the master, the guard supervises it, and the new master is a new server.
func TestWrappedFailoverClientFollowsTheMaster(t *testing.T) {
	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 1, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	rec := newRecorder()
	c, err := Wrap(redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    g.MasterName(),
		SentinelAddrs: g.SentinelAddrs(),
	}), Options{Reconnect: ExponentialBackoff{MaxRetries: -1}, Hooks: rec.hooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	oldBreaker := liveBreaker(c)
	old := g.Master()
	if c.Nodes()[0].Addr != old.Addr() {
		t.Fatalf("the node is %s, the master %s", c.Nodes()[0].Addr, old.Addr())
	}
	old.Kill()
	newMaster := g.WaitSwitch(t, old, 20*time.Second)
	redistest.Eventually(t, 15*time.Second, "a write on the new master", func() bool {
		return c.Set(ctx, "k", "after", 0).Err() == nil
	})
	if addr := c.Nodes()[0].Addr; addr != newMaster.Addr() {
		t.Fatalf("the node is %s after the failover, the new master %s", addr, newMaster.Addr())
	}
	if liveBreaker(c) == oldBreaker {
		t.Fatal("the new master kept the old master's breaker")
	}
	if v := newMaster.Client(t).Get(ctx, "k").Val(); v != "after" {
		t.Fatalf("the new master holds %q", v)
	}
}
