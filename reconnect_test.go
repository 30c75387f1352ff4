package redisguard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// schedulingTolerance is how late a timer may fire on a loaded test machine
// running with -race; no timer fires early.
const schedulingTolerance = 250 * time.Millisecond

func TestKilledServerLeftDownGivesUpOnSchedule(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: ExponentialBackoff{Base: 100 * time.Millisecond, Max: 3 * time.Second, MaxRetries: 10, Jitter: 0},
		Hooks:     rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET on a killed server succeeded")
	}
	end := rec.waitFor(t, "end", 1, 30*time.Second)

	want := []time.Duration{100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000, 3000}
	events := rec.snapshot()
	var reconnecting []int
	for i, e := range events {
		if e.kind == "reconnecting" {
			reconnecting = append(reconnecting, i)
		}
	}
	if len(reconnecting) != len(want) {
		t.Fatalf("%d reconnecting events, want %d: %v", len(reconnecting), len(want), events)
	}
	var observed []time.Duration
	for n, i := range reconnecting {
		e := events[i]
		observed = append(observed, events[i+1].at.Sub(e.at).Round(time.Millisecond))
		if e.attempt != n+1 || e.delay != want[n]*time.Millisecond {
			t.Errorf("reconnecting event %d: attempt %d delay %v, want attempt %d delay %v", n, e.attempt, e.delay, n+1, want[n]*time.Millisecond)
		}
		// The attempt runs after the delay and is refused at once: the next
		// event (its error) shows the wait actually observed.
		next := events[i+1]
		waited := next.at.Sub(e.at)
		if next.kind != "error" || waited < e.delay || waited > e.delay+schedulingTolerance {
			t.Errorf("attempt %d: next event %q after %v, want an error after %v (+%v)", n+1, next, waited, e.delay, schedulingTolerance)
		}
	}
	t.Logf("waits observed before the 10 attempts: %v; gave up %v after the kill",
		observed, end.at.Sub(events[reconnecting[0]].at).Round(time.Millisecond))
	last := events[len(events)-3:]
	if last[1].kind != "error" || !errors.Is(last[1].err, ErrMaxRetriesReached) || last[2].kind != "end" || !errors.Is(last[2].err, ErrMaxRetriesReached) {
		t.Fatalf("events end with %v, want error(ErrMaxRetriesReached), end(ErrMaxRetriesReached)", last)
	}
	if end != last[2] || rec.count("end") != 1 {
		t.Fatalf("OnEnd fired %d times", rec.count("end"))
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v, want closed", c.State())
	}

	start := time.Now()
	cmd := c.Get(ctx, "k")
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("a command on a client that gave up took %v", took)
	}
	if !errors.Is(cmd.Err(), ErrMaxRetriesReached) {
		t.Fatalf("command error %v, want ErrMaxRetriesReached", cmd.Err())
	}
	if err := c.WaitReady(ctx); !errors.Is(err, ErrMaxRetriesReached) {
		t.Fatalf("WaitReady: %v, want ErrMaxRetriesReached", err)
	}
}

func TestDefaultJitterKeepsEveryDelayWithinTenPercent(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Hooks: rec.hooks(),
	})
	srv.Kill()
	_ = c.Ping(context.Background()).Err()
	rec.waitFor(t, "end", 1, 30*time.Second)

	events := rec.snapshot()
	want := []time.Duration{100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000, 3000}
	n := 0
	for i, e := range events {
		if e.kind != "reconnecting" {
			continue
		}
		d := want[n] * time.Millisecond
		lo, hi := time.Duration(0.9*float64(d)), time.Duration(1.1*float64(d))
		if e.delay < lo || e.delay > hi {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", e.attempt, e.delay, lo, hi)
		}
		if waited := events[i+1].at.Sub(e.at); waited < e.delay || waited > e.delay+schedulingTolerance {
			t.Errorf("attempt %d: waited %v for a delay of %v", e.attempt, waited, e.delay)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("%d reconnecting events, want %d", n, len(want))
	}
}

func TestRestartedServerIsReconnected(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Hooks: rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	readyBefore := rec.count("ready")

	srv.Kill()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET on a killed server succeeded")
	}
	rec.waitFor(t, "reconnecting", 1, 5*time.Second)
	if c.State() != StateReconnecting {
		t.Fatalf("state %v, want reconnecting", c.State())
	}

	// While reconnecting, commands fail fast.
	for range 20 {
		start := time.Now()
		cmd := c.Get(ctx, "k")
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Errorf("GET while reconnecting took %v", took)
		}
		if !errors.Is(cmd.Err(), ErrNotReady) {
			t.Fatalf("GET while reconnecting: %v, want ErrNotReady", cmd.Err())
		}
	}

	time.Sleep(500 * time.Millisecond)
	srv.Restart()
	restarted := time.Now()
	ready := rec.waitFor(t, "ready", readyBefore+1, 5*time.Second)
	t.Logf("ready %v after the server answered again (the backoff's next attempt)", ready.at.Sub(restarted).Round(time.Millisecond))
	if c.State() != StateReady {
		t.Fatalf("state %v, want ready", c.State())
	}
	if err := c.Set(ctx, "k", "again", 0).Err(); err != nil {
		t.Fatalf("SET after restart: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "again" {
		t.Fatalf("GET after restart: %q, %v", v, err)
	}

	// Events since the first ready: error (the cause), then reconnecting and
	// error per failed attempt, then the attempt that connects and ready.
	events := rec.snapshot()
	var after []event
	for i, seen := 0, 0; i < len(events); i++ {
		if events[i].kind == "ready" {
			seen++
		}
		if seen >= readyBefore {
			after = append(after, events[i])
		}
	}
	kinds := lifecycle(after)
	if kinds[0] != "ready" || kinds[1] != "error" || kinds[2] != "reconnecting" || kinds[len(kinds)-1] != "ready" {
		t.Fatalf("lifecycle %v, want ready, error, reconnecting, …, ready", kinds)
	}
	// The last reconnecting is followed by the connect of the attempt, then ready.
	var lastReconnecting int
	for i, e := range after {
		if e.kind == "reconnecting" {
			lastReconnecting = i
		}
	}
	tail := after[lastReconnecting:]
	if len(tail) < 3 || tail[1].kind != "connect" || tail[2].kind != "ready" {
		t.Fatalf("events after the last reconnecting: %v, want connect, ready", tail)
	}
}

func TestOfflineQueueWaitsForTheRestart(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		OfflineQueue: true,
		Hooks:        rec.hooks(),
	})
	ctx := context.Background()
	srv.Kill()
	triggerDetection(c)
	rec.waitFor(t, "reconnecting", 1, 5*time.Second)

	results := make(chan error, 10)
	for i := range 10 {
		go func() {
			results <- c.Set(ctx, "k", i, 0).Err()
		}()
	}
	redistest.Eventually(t, 2*time.Second, "10 commands queued", func() bool { return c.QueueLen() == 10 })
	select {
	case err := <-results:
		t.Fatalf("a queued command returned before the restart: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	srv.Restart()
	for range 10 {
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("queued SET: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("queued commands did not complete after the restart")
		}
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after every command completed", n)
	}
}

func TestOfflineQueueRespectsTheCallersContext(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		OfflineQueue: true,
	})
	srv.Kill()
	triggerDetection(c)
	redistest.Eventually(t, 5*time.Second, "reconnecting", func() bool { return c.State() == StateReconnecting })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Get(ctx, "k").Err()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GET: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 100*time.Millisecond+schedulingTolerance {
		t.Fatalf("GET returned after %v, want the context's 100ms", took)
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after the caller gave up", n)
	}
}

func TestKeepalivePingNoticesAnIdleServerDying(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		PingInterval: 50 * time.Millisecond,
		Hooks:        rec.hooks(),
	})
	time.Sleep(120 * time.Millisecond) // a few PINGs succeed
	if rec.count("error") != 0 {
		t.Fatalf("errors while healthy: %v", rec.snapshot())
	}
	srv.Kill()
	rec.waitFor(t, "reconnecting", 1, 2*time.Second)
	if c.State() != StateReconnecting {
		t.Fatalf("state %v, want reconnecting", c.State())
	}
}

// triggerDetection sends a PING so that the client notices a dead server; with
// the offline queue on, the PING itself would wait, so it is bounded.
func triggerDetection(c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = c.Ping(ctx).Err()
}

func TestBlackholedServerIsDetectedAndRecovered(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	rec := newRecorder()
	opts := quickOptions(proxy.Addr())
	opts.OfflineQueue = true
	opts.Hooks = rec.hooks()
	c := newTestClient(t, opts)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	proxy.Blackhole()
	start := time.Now()
	var nerr interface{ Timeout() bool }
	if err := c.Get(ctx, "k").Err(); !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Fatalf("GET into a blackhole: %v, want a timeout", err)
	}
	rec.waitFor(t, "reconnecting", 1, time.Second)
	t.Logf("noticed %v after the blackhole began (ReadTimeout 200ms)", time.Since(start).Round(time.Millisecond))

	queued := make(chan error, 5)
	for range 5 {
		go func() { queued <- c.Incr(ctx, "queued").Err() }()
	}
	rec.waitFor(t, "reconnecting", 2, 2*time.Second) // an attempt timed out in the blackhole
	healed := time.Now()
	proxy.Heal()
	for range 5 {
		if err := <-queued; err != nil {
			t.Errorf("command queued during the blackhole: %v", err)
		}
	}
	t.Logf("recovered %v after the network healed", time.Since(healed).Round(time.Millisecond))
	if n, err := srv.Client(t).Get(ctx, "queued").Int(); err != nil || n != 5 {
		t.Fatalf("queued INCRs left %d (%v), want 5: none lost, none doubled", n, err)
	}
}
