package redisguard

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// stall is a fault that stops a server answering for a while and ends by
// itself: it returns when the server answers again.
type stall struct {
	name string
	do   func(t *testing.T, srv *redistest.Server) (healed time.Time)
}

// stalls are the short stalls after which a guarded client must serve
// within a second of plain go-redis: the server answers again, and its
// replies say so.
var stalls = []stall{
	{"SIGSTOP 1.5 s", func(t *testing.T, srv *redistest.Server) time.Time {
		srv.Stop()
		time.Sleep(1500 * time.Millisecond)
		srv.Continue()
		return time.Now()
	}},
	{"CLIENT PAUSE WRITE 4 s", func(t *testing.T, srv *redistest.Server) time.Time {
		rdb := srv.Client(t)
		if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", 4000, "WRITE").Err(); err != nil {
			t.Fatal(err)
		}
		paused := time.Now()
		time.Sleep(4 * time.Second)
		return paused.Add(4 * time.Second)
	}},
}

// servedAgain returns how long after from the load served keys cleanly
// again: from the first 100 ms bucket, the one holding healed or a later one,
// in which a command succeeded, and after the last bucket in which one
// failed.
func servedAgain(l *redistest.Load, from, healed time.Time, keys ...string) time.Duration {
	const width = 100 * time.Millisecond
	var clean, first time.Time
	for _, b := range l.Series(keys...) {
		end := b.Start.Add(width)
		if !end.After(from) {
			continue
		}
		if b.Failed > 0 {
			clean = end
		}
		if first.IsZero() && end.After(healed) && b.OK > 0 {
			first = b.Start
		}
	}
	if first.IsZero() {
		return time.Hour // never served again
	}
	if clean.After(first) {
		first = clean
	}
	return first.Sub(from)
}

// checkStallCost compares how soon each client served keys cleanly again
// after a stall that began at from and ended at healed.
func checkStallCost(t *testing.T, what string, guarded, plain *redistest.Load, from, healed time.Time, keys []string) {
	t.Helper()
	time.Sleep(5 * time.Second) // longer than the breaker's longest open time
	end := time.Now()
	g, p := servedAgain(guarded, from, healed, keys...), servedAgain(plain, from, healed, keys...)
	t.Logf("%s: served cleanly again %v after it began (plain go-redis %v); redisguard %v; plain %v", what,
		g.Round(time.Millisecond), p.Round(time.Millisecond), guarded.Outcome(from, end, keys...), plain.Outcome(from, end, keys...))
	if g > p+time.Second {
		t.Errorf("%s: redisguard served cleanly again %v after it began, plain go-redis %v: want within 1 s", what, g, p)
	}
}

// A short stall of a standalone server costs a guarded client about the
// stall, as it costs plain go-redis: the breaker opens on the late replies,
// and lets traffic back as soon as the server shows it answers.
func TestStallCostsOnlyTheStall(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}, Hooks: rec.hooks()})
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = plain.Close() })
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	cfg := redistest.LoadConfig{Keys: keys, Goroutines: len(keys), Pause: 2 * time.Millisecond, Timeout: time.Second}
	guarded := redistest.StartLoad(t, c, cfg)
	plainLoad := redistest.StartLoad(t, plain, cfg)
	time.Sleep(500 * time.Millisecond)
	for _, s := range stalls {
		from := time.Now()
		healed := s.do(t, srv)
		checkStallCost(t, s.name, guarded, plainLoad, from, healed, keys)
	}
	t.Logf("breaker changes: %v", rec.breakerChanges())
	if st := statusOf(c).State; st != breaker.StateClosed {
		t.Errorf("breaker %v at the end", st)
	}
}

// The same on a cluster: the stalled master's shard serves again within a
// second of plain go-redis, and the other shards are untouched.
func TestClusterStallCostsOnlyTheStall(t *testing.T) {
	s := startClusterSideBySide(t, nil)
	victim := s.cluster.MasterOf(s.keys.All()[0])
	others := s.keys.Except(victim)
	// More commands in flight on the stalled shard, as in a busy service:
	// enough late replies to open its breaker.
	busy := redistest.LoadConfig{Keys: s.keys[victim], Goroutines: 16, Pause: 2 * time.Millisecond, Timeout: time.Second}
	guarded := redistest.StartLoad(t, s.guarded, busy)
	plain := redistest.StartLoad(t, s.cluster.Client(t), busy)
	time.Sleep(500 * time.Millisecond)
	for _, st := range stalls {
		from := time.Now()
		healed := st.do(t, victim)
		checkStallCost(t, st.name, guarded, plain, from, healed, s.keys[victim])
		g := s.report(t, st.name+", other shards", from, healed, others)
		if r := g.SuccessRatio(); r < 0.98 {
			t.Errorf("%s: other shards %.2f%% succeeded, want ≥ 98%%", st.name, 100*r)
		}
	}
	t.Logf("breaker changes: %v", s.rec.breakerChanges())
	s.neverClosed(t)
}
