package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// incrDriver sends INCR without a deadline of its own from 16 goroutines,
// one key each, as a service's handlers do when they leave the timeouts to
// the client, and records every reply.
type incrDriver struct {
	name string
	keys []string
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	recs []incrRecord
}

type incrRecord struct {
	key int
	end time.Time
	val int64
	err error
}

func startIncr(name string, client redis.UniversalClient, prefix string) *incrDriver {
	d := &incrDriver{name: name, stop: make(chan struct{})}
	for i := range 16 {
		d.keys = append(d.keys, fmt.Sprintf("%s:%s:%d", prefix, name, i))
	}
	for i, key := range d.keys {
		d.wg.Go(func() {
			for {
				select {
				case <-d.stop:
					return
				default:
				}
				v, err := client.Incr(context.Background(), key).Result()
				d.mu.Lock()
				d.recs = append(d.recs, incrRecord{key: i, end: time.Now(), val: v, err: err})
				d.mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		})
	}
	return d
}

func (d *incrDriver) halt() {
	close(d.stop)
	d.wg.Wait()
}

// firstSuccess returns when the first INCR after at was acknowledged.
func (d *incrDriver) firstSuccess(at time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first time.Time
	for _, r := range d.recs {
		if r.err == nil && r.end.After(at) && (first.IsZero() || r.end.Before(first)) {
			first = r.end
		}
	}
	return first, !first.IsZero()
}

// incrSummary is what a driver saw over a fault.
type incrSummary struct {
	first     time.Duration // first write acknowledged after the fault began
	acked     int
	lost      int // acknowledged, and not in the final counters
	lostAfter int // of them, acknowledged after the fault began
	errs      int
	switched  int // errors naming the switch
	notReady  int
	// notReadyAfter counts the ErrNotReady after the first write on the
	// new master: the old master's failures held against the new one.
	notReadyAfter int
}

func (s incrSummary) String() string {
	return fmt.Sprintf("first write after %v, %d acknowledged, %d of them lost (%d acknowledged after the fault began), %d errors (%d ErrMasterSwitched, %d ErrNotReady, %d of them after the first write)",
		s.first.Round(time.Millisecond), s.acked, s.lost, s.lostAfter, s.errs, s.switched, s.notReady, s.notReadyAfter)
}

// summarize compares the replies with the final counters: an INCR that was
// applied for good returned a value of its own, no greater than the final
// one. Of the acknowledgements sharing a value, the first one after the fault
// began is the one kept (the new master's): an earlier one was lost to
// replication lag (acknowledged before the fault, not yet on the replica
// promoted), a later one was the old master's after the switch. Only the
// losses after the fault began can be the client's doing.
func (d *incrDriver) summarize(t *testing.T, at time.Time, finals map[string]int64) incrSummary {
	t.Helper()
	after := at.Add(100 * time.Millisecond) // not a reply on its way before the signal
	first, ok := d.firstSuccess(after)
	if !ok {
		t.Errorf("%s: no write acknowledged after the fault", d.name)
	}
	s := incrSummary{first: first.Sub(at)}
	type ack struct {
		key int
		val int64
	}
	byValue := make(map[ack][]time.Time)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.recs {
		switch {
		case r.err == nil:
			s.acked++
			a := ack{r.key, r.val}
			byValue[a] = append(byValue[a], r.end)
		default:
			s.errs++
			if errors.Is(r.err, ErrMasterSwitched) {
				s.switched++
			}
			if errors.Is(r.err, ErrNotReady) {
				s.notReady++
				if r.end.After(first) {
					s.notReadyAfter++
				}
			}
		}
	}
	for a, ends := range byValue {
		keptOne := -1 // the index of the acknowledgement kept, if any
		if a.val <= finals[d.keys[a.key]] {
			keptOne = len(ends) - 1 // all before the fault: the last
			for i, end := range ends {
				if end.After(after) {
					keptOne = i
					break
				}
			}
		}
		for i, end := range ends {
			if i == keptOne {
				continue
			}
			s.lost++
			if end.After(after) {
				s.lostAfter++
			}
		}
	}
	return s
}

// countingDialer counts the dials to one address.
type countingDialer struct {
	addr  string
	dials atomic.Int64
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr == d.addr {
		d.dials.Add(1)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// scheduleAttempts is how many attempts DefaultBackoff makes in d at most
// (every delay at its shortest with jitter), going on at its last delay once
// it gives up, as a sentinel's watcher does.
func scheduleAttempts(d time.Duration) int {
	b := DefaultBackoff()
	b.Jitter = 0
	var elapsed time.Duration
	last := b.Base
	n := 1 // the attempt at once, when the connection broke
	for attempt := 1; ; attempt++ {
		if next, err := b.NextDelay(attempt, nil); err == nil {
			last = next
		}
		elapsed += time.Duration(float64(last) * (1 - DefaultBackoff().Jitter))
		if elapsed > d {
			return n
		}
		n++
	}
}

// A switch means switch, side by side with go-redis's failover client doing
// the same work: the master is frozen (SIGSTOP) 5 s, then the new master 8 s,
// under 16 goroutines of INCR without deadlines, with go-redis's default
// ReadTimeout and with 1 s. Meanwhile, in a second group, one sentinel is
// down for 60 s and counts what each client dials it.
func TestSentinelSwitchMeansSwitch(t *testing.T) {
	// The dead sentinel, measured while the rest runs.
	quiet := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Sentinels: 2, Quorum: 1})
	dead := quiet.Sentinels()[0]
	guardedDials := &countingDialer{addr: dead.Addr()}
	plainDials := &countingDialer{addr: dead.Addr()}
	newTestClient(t, Options{Redis: &redis.UniversalOptions{MasterName: quiet.MasterName(), Addrs: quiet.SentinelAddrs(), Dialer: guardedDials.dial}})
	plainQuiet := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: quiet.MasterName(), SentinelAddrs: quiet.SentinelAddrs(), Dialer: plainDials.dial})
	defer plainQuiet.Close()
	if err := plainQuiet.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	guardedDials.dials.Store(0)
	plainDials.dials.Store(0)
	dead.Kill()
	killed := time.Now()

	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 2, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	type pair struct {
		name             string
		guarded, plain   redis.UniversalClient
		guardedN, plainN string
	}
	var pairs []pair
	for _, rt := range []time.Duration{0, time.Second} {
		name := "default"
		if rt > 0 {
			name = "rt1s"
		}
		guarded := newTestClient(t, Options{
			Redis:     &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs(), ReadTimeout: rt},
			Reconnect: ExponentialBackoff{MaxRetries: -1},
		})
		plain := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.MasterName(), SentinelAddrs: g.SentinelAddrs(), ReadTimeout: rt})
		defer plain.Close()
		pairs = append(pairs, pair{name: name, guarded: guarded, plain: plain, guardedN: "guarded-" + name, plainN: "plain-" + name})
	}
	check := g.FailoverClient(t)

	for _, freeze := range []time.Duration{5 * time.Second, 8 * time.Second} {
		prefix := fmt.Sprint("freeze", freeze.Seconds())
		var drivers []*incrDriver
		for _, p := range pairs {
			drivers = append(drivers, startIncr(p.guardedN, p.guarded, prefix), startIncr(p.plainN, p.plain, prefix))
		}
		time.Sleep(time.Second)
		old := g.Master()
		frozen := time.Now()
		old.Stop()
		time.Sleep(freeze)
		old.Continue()
		g.WaitSwitch(t, old, 20*time.Second)
		redistest.Eventually(t, 15*time.Second, "every client writing on the new master", func() bool {
			for _, d := range drivers {
				if at, ok := d.firstSuccess(frozen); !ok || time.Since(at) < time.Second {
					return false
				}
			}
			return true
		})
		for _, d := range drivers {
			d.halt()
		}
		g.WaitSettled(t, 40*time.Second)
		finals := make(map[string]int64)
		for _, d := range drivers {
			for _, key := range d.keys {
				v, err := check.Get(context.Background(), key).Int64()
				if err != nil {
					t.Fatalf("GET %s: %v", key, err)
				}
				finals[key] = v
			}
		}
		for i, p := range pairs {
			gs := drivers[2*i].summarize(t, frozen, finals)
			ps := drivers[2*i+1].summarize(t, frozen, finals)
			t.Logf("master frozen %v, ReadTimeout %s: guarded %v; plain go-redis %v", freeze, p.name, gs, ps)
			if gs.first > ps.first+200*time.Millisecond {
				t.Errorf("frozen %v, %s: first write on the new master %v after the freeze, plain go-redis %v: want at most 200 ms later",
					freeze, p.name, gs.first.Round(time.Millisecond), ps.first.Round(time.Millisecond))
			}
			if gs.notReadyAfter > 0 {
				t.Errorf("frozen %v, %s: %d ErrNotReady after the first write on the new master", freeze, p.name, gs.notReadyAfter)
			}
			if gs.lostAfter > ps.lostAfter {
				t.Errorf("frozen %v, %s: %d writes acknowledged after the freeze lost, plain go-redis %d", freeze, p.name, gs.lostAfter, ps.lostAfter)
			}
		}
	}

	if rest := time.Minute - time.Since(killed); rest > 0 {
		time.Sleep(rest)
	}
	down := time.Since(killed)
	want := scheduleAttempts(down) + 2 // and the broken subscription's own redial
	gd, pd := guardedDials.dials.Load(), plainDials.dials.Load()
	t.Logf("one sentinel down %v: the guarded client dialed it %d times (schedule: at most %d), plain go-redis %d", down.Round(time.Second), gd, want, pd)
	if gd > int64(want) {
		t.Errorf("the guarded client dialed the dead sentinel %d times in %v, want at most %d", gd, down.Round(time.Second), want)
	}
}

// deafConn hides +switch-master announcements from a client, which then
// learns of a switch only when the old master, demoted, answers READONLY.
type deafConn struct{ net.Conn }

var switchMessage = regexp.MustCompile(`(?s)[*>]3\r\n\$7\r\nmessage\r\n\$14\r\n\+switch-master\r\n\$\d+\r\n[^\r]*\r\n`)

func (c deafConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if n == 0 || err != nil {
			return n, err
		}
		kept := switchMessage.ReplaceAll(p[:n], nil)
		if len(kept) > 0 {
			return copy(p, kept), nil
		}
	}
}

// A client that missed the switch finds the new master by the READONLY of
// the old one, and the callers whose deadline allows it see no error: the
// commands refused wait for the new master and run there.
func TestSentinelReadOnlyFindsTheNewMaster(t *testing.T) {
	g := redistest.StartSentinelGroup(t, redistest.SentinelConfig{Replicas: 2, Sentinels: 3, Quorum: 2, DownAfter: time.Second})
	deaf := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nd net.Dialer
		conn, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return deafConn{conn}, nil
	}
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{MasterName: g.MasterName(), Addrs: g.SentinelAddrs(), Dialer: deaf},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
	})
	keys := []string{"r:0", "r:1", "r:2", "r:3", "r:4", "r:5", "r:6", "r:7"}
	cfg := redistest.LoadConfig{Keys: keys, Goroutines: len(keys), Pause: 2 * time.Millisecond, Timeout: 3 * time.Second, Command: writes}
	guarded := redistest.StartLoad(t, c, cfg)
	plain := redistest.StartLoad(t, g.FailoverClient(t), cfg)
	time.Sleep(500 * time.Millisecond)
	old := g.Master()
	sc := redis.NewSentinelClient(&redis.Options{Addr: g.SentinelAddrs()[0]})
	defer sc.Close()
	began := time.Now()
	if err := sc.Failover(context.Background(), g.MasterName()).Err(); err != nil {
		t.Fatal(err)
	}
	newMaster := g.WaitSwitch(t, old, 20*time.Second)
	redistest.Eventually(t, 30*time.Second, "the guarded client on the new master", func() bool {
		return c.Nodes()[0].Addr == newMaster.Addr() && c.State() == StateReady
	})
	guarded.WaitSuccess(t, time.Now(), 10*time.Second, keys...)
	time.Sleep(time.Second)
	end := time.Now()
	gOut, pOut := guarded.Outcome(began, end, keys...), plain.Outcome(began, end, keys...)
	t.Logf("found by READONLY: no write for %v; guarded %v", guarded.LongestGap(began, end, keys...).Round(time.Millisecond), gOut)
	t.Logf("plain go-redis (heard the switch): %v", pOut)
	// A write in flight when the Sentinels' CLIENT KILL closed its
	// connection on the old master, or when the client moved away from it,
	// may have been applied there: its caller gets the EOF or
	// ErrMasterSwitched (plain go-redis sends it again). Nothing else may
	// fail.
	dropped := 0
	for text, n := range gOut.Errors {
		if text == "EOF" || strings.HasPrefix(text, ErrMasterSwitched.Error()) {
			dropped += n
		}
	}
	if n := gOut.Failed - dropped; n != 0 || dropped > len(keys) {
		t.Errorf("%d commands failed while the new master was found, %d of them writes dropped in flight: want none but at most one such write per caller", gOut.Failed, dropped)
	}
}
