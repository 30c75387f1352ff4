package redisguard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

func TestCloseLetsCommandsInFlightFinish(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}},
		Hooks: rec.hooks(),
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	proxy.Latency(300 * time.Millisecond)
	const inFlight = 20
	var wg sync.WaitGroup
	errs := make(chan error, inFlight)
	for range inFlight {
		wg.Go(func() {
			v, err := c.Get(ctx, "k").Result()
			if err == nil && v != "v" {
				err = errors.New("wrong value " + v)
			}
			errs <- err
		})
	}
	redistest.Eventually(t, 2*time.Second, "commands in flight", func() bool { return c.QueueLen() == inFlight })

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("command in flight during Close: %v", err)
		}
	}

	cmd := c.Get(ctx, "k")
	if !errors.Is(cmd.Err(), ErrClosed) {
		t.Fatalf("command after Close: %v, want ErrClosed", cmd.Err())
	}
	pipe := c.Pipeline()
	get := pipe.Get(ctx, "k")
	if _, err := pipe.Exec(ctx); !errors.Is(err, ErrClosed) || !errors.Is(get.Err(), ErrClosed) {
		t.Fatalf("pipeline after Close: %v / %v, want ErrClosed", err, get.Err())
	}
	if err := c.WaitReady(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitReady after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v after Close", c.State())
	}
	if n := rec.count("end"); n != 1 {
		t.Fatalf("OnEnd fired %d times, want once", n)
	}
	if end := rec.waitFor(t, "end", 1, time.Second); end.err != nil {
		t.Fatalf("OnEnd(%v), want OnEnd(nil)", end.err)
	}
}

func TestCloseWakesTheOfflineQueue(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		OfflineQueue: true,
	})
	srv.Kill()
	triggerDetection(c)
	redistest.Eventually(t, 5*time.Second, "reconnecting", func() bool { return c.State() == StateReconnecting })

	errs := make(chan error, 5)
	for range 5 {
		go func() { errs <- c.Get(context.Background(), "k").Err() }()
	}
	redistest.Eventually(t, 2*time.Second, "queued", func() bool { return c.QueueLen() == 5 })
	start := time.Now()
	c.Close()
	for range 5 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Errorf("queued command: %v, want ErrClosed", err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close and the queued commands took %v", took)
	}
}

func TestCloseWhileConnectingAndAfterGivingUp(t *testing.T) {
	t.Parallel()
	// Nothing listens on this address: the client never becomes ready.
	srv := redistest.StartServer(t)
	addr := srv.Addr()
	srv.Kill()

	rec := newRecorder()
	c, err := New(Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{addr}},
		Reconnect: ExponentialBackoff{Base: 10 * time.Millisecond, Max: 10 * time.Millisecond, MaxRetries: 2},
		Hooks:     rec.hooks(),
	})
	if err != nil {
		t.Fatal(err)
	}
	end := rec.waitFor(t, "end", 1, 5*time.Second)
	if !errors.Is(end.err, ErrMaxRetriesReached) {
		t.Fatalf("OnEnd(%v), want ErrMaxRetriesReached", end.err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := rec.count("end"); n != 1 {
		t.Fatalf("OnEnd fired %d times, want once", n)
	}

	c2, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatalf("Close while connecting: %v", err)
	}
	if err := c2.Ping(context.Background()).Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("PING after Close: %v, want ErrClosed", err)
	}
}

func TestOnRefusedReportsEveryRefusal(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	var mu sync.Mutex
	var refused []error
	c := newTestClient(t, Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: ExponentialBackoff{MaxRetries: -1},
		Hooks: Hooks{OnRefused: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, err)
		}},
	})
	ctx := context.Background()
	srv.Kill()
	triggerDetection(c)
	redistest.Eventually(t, 5*time.Second, "reconnecting", func() bool { return c.State() == StateReconnecting })
	_ = c.Get(ctx, "k").Err() // not ready
	srv.Restart()
	if err := waitReady(c); err != nil {
		t.Fatal(err)
	}
	for range breaker.DefaultConsecutiveFailures {
		t, _ := liveBreaker(c).Allow()
		liveBreaker(c).Done(t, breaker.ErrSlowCall)
	}
	_ = c.Get(ctx, "k").Err() // breaker open
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_ = c.Get(canceled, "k").Err() // the caller's own: not a refusal
	c.Close()
	_ = c.Get(ctx, "k").Err() // closed

	mu.Lock()
	defer mu.Unlock()
	want := []error{ErrNotReady, breaker.ErrOpen, ErrClosed}
	var got []error
	for _, err := range refused {
		if len(got) == 0 || got[len(got)-1] != err {
			got = append(got, err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("OnRefused saw %v, want %v", refused, want)
	}
	for i := range want {
		if !errors.Is(got[i], want[i]) {
			t.Fatalf("OnRefused saw %v, want %v", refused, want)
		}
	}
}
