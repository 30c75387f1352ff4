package redisguard

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A caller's deadline that ends before the command is written, or soon
// after, says nothing about the server: more hurried callers fail in a row
// than the breaker's ConsecutiveFailures, and it stays closed.
func TestHurriedCallersDoNotOpenTheBreaker(t *testing.T) {
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
	// Were they counted, this many failures in a row would open it 4 times over.
	const inARow = 4 * breaker.DefaultConsecutiveFailures
	run, calls := 0, 0
	for ; run < inARow && calls < 100*inARow; calls++ {
		short, cancel := context.WithTimeout(ctx, 10*time.Microsecond)
		err := c.Get(short, "k").Err()
		cancel()
		switch {
		case err == nil:
			run = 0 // the machine was quicker than 10 µs: start the run again
		case errors.Is(err, context.DeadlineExceeded) || isTimeoutErr(err):
			run++
		default:
			t.Fatalf("GET with a 10 µs deadline: %v, want a deadline passed", err)
		}
	}
	if run < inARow {
		t.Fatalf("only %d GETs in a row (of %d) failed on their 10 µs deadline, want %d: the test did not hurry", run, calls, inARow)
	}
	// The drains of connections abandoned after the write end within the
	// threshold; give them that long to count what they find.
	time.Sleep(liveBreaker(c).SlowCallThreshold() + 100*time.Millisecond)
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after %d hurried GETs failed in a row: %q, %v", run, v, err)
	}
	if st := statusOf(c).State; st != breaker.StateClosed || len(rec.breakerChanges()) != 0 {
		t.Fatalf("breaker %v, changes %v after %d GETs in a row past 10 µs deadlines: want closed throughout", st, rec.breakerChanges(), run)
	}
}

// isTimeoutErr reports whether err is a network timeout, the form a
// deadline takes when it passes on the socket.
func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Callers whose deadline passes while they wait for one of two pooled
// connections, on a host whose cores are all busy, never open the breaker of
// a healthy server.
func TestPoolWaitsAndABusyHostDoNotOpenTheBreaker(t *testing.T) {
	srv := redistest.StartServer(t)
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, PoolSize: 2},
		Hooks: rec.hooks(),
	})
	redistest.BusyCores(t)
	var ok, timedOut, other atomic.Int64
	var unexpected atomic.Pointer[error]
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	for range 256 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
				err := c.Get(ctx, "k").Err()
				cancel()
				switch {
				case err == nil || errors.Is(err, redis.Nil):
					ok.Add(1)
				case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) || isTimeoutErr(err):
					timedOut.Add(1)
				default:
					other.Add(1)
					unexpected.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(liveBreaker(c).SlowCallThreshold() + 100*time.Millisecond)
	t.Logf("256 goroutines, 5 ms deadlines, PoolSize 2, cores busy, 3 s: %d answered, %d past their deadline, %d other errors",
		ok.Load(), timedOut.Load(), other.Load())
	if e := unexpected.Load(); e != nil {
		t.Fatalf("%d errors that are neither an answer nor a deadline passed (the breaker's refusals among them), first: %v", other.Load(), *e)
	}
	if changes := rec.breakerChanges(); len(changes) != 0 {
		t.Fatalf("breaker changes %v: want none", changes)
	}
	// The test says something only if callers did miss their deadlines,
	// many more than the breaker's ConsecutiveFailures.
	if timedOut.Load() < 20*breaker.DefaultConsecutiveFailures {
		t.Fatalf("%d calls past their deadline: want at least %d, or the pool waits and the busy host were not tested",
			timedOut.Load(), 20*breaker.DefaultConsecutiveFailures)
	}
	if err := c.Get(context.Background(), "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET without a deadline after the hurried callers: %v, want redis.Nil", err)
	}
}

// A server that is slow but alive (50 ± 30 ms per round trip) under callers
// with a 100 ms budget, 32 per client: the connections their deadlines throw away are not
// replaced one per command. New connections stay within the pool's size plus
// DialRate per second; plain go-redis is measured alongside.
func TestSlowServerDoesNotCauseAConnectionStorm(t *testing.T) {
	srv := redistest.StartServer(t)
	guardedProxy := redistest.NewProxy(t, srv.Addr())
	plainProxy := redistest.NewProxy(t, srv.Addr())
	rec := newRecorder()
	c := newTestClient(t, Options{
		Redis: &redis.UniversalOptions{Addrs: []string{guardedProxy.Addr()}},
		Hooks: rec.hooks(),
	})
	poolSize := c.UniversalClient.(*redis.Client).Options().PoolSize
	plain := redis.NewClient(&redis.Options{Addr: plainProxy.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = plain.Close() })
	// Both pools warm, as in a service that ran before the slowness.
	var warm sync.WaitGroup
	for _, rdb := range []redis.UniversalClient{c, plain} {
		for range poolSize {
			warm.Go(func() {
				for range 20 {
					_ = rdb.Get(context.Background(), "k").Err()
				}
			})
		}
	}
	warm.Wait()
	for _, p := range []*redistest.Proxy{guardedProxy, plainProxy} {
		p.Latency(25 * time.Millisecond)
		p.Jitter(15 * time.Millisecond)
	}
	guardedBefore, plainBefore := guardedProxy.Accepted(), plainProxy.Accepted()
	const window = 10 * time.Second
	var wg sync.WaitGroup
	var guardedOK, plainOK atomic.Int64
	stop := time.Now().Add(window)
	const callers = 64 // per client
	for i := range 2 * callers {
		rdb := redis.UniversalClient(c)
		ok := &guardedOK
		if i%2 == 1 {
			rdb, ok = plain, &plainOK
		}
		wg.Go(func() {
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				if rdb.Get(ctx, "k").Err() == redis.Nil {
					ok.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	guardedDials := guardedProxy.Accepted() - guardedBefore
	plainDials := plainProxy.Accepted() - plainBefore
	// A connection thrown away by a caller in a hurry, whose reply the drain
	// saw within the slow-call threshold, gives its dial back: the server is
	// healthy, and the pool refills at its speed (a pool paced at the dial
	// rate would stay too small for the deadlines, see
	// TestSilentServerGetsOnlyPacedDials). The storm stays away.
	bound := plainDials / 4
	t.Logf("50 ± 30 ms per round trip, %d callers each, 100 ms budget, %v: redisguard %d new connections (bound %d), %d GETs answered; plain go-redis %d new connections, %d answered; breaker changes %v",
		callers, window, guardedDials, bound, guardedOK.Load(), plainDials, plainOK.Load(), rec.breakerChanges())
	if guardedDials > bound {
		t.Errorf("%d new connections in %v, want at most %d", guardedDials, window, bound)
	}
	if changes := rec.breakerChanges(); len(changes) != 0 {
		t.Errorf("the breaker changed state on a slow but alive server: %v", changes)
	}
}

// A blocking command waits by design: its reply, however late, says nothing
// of the server. A plain command's late reply does, and a reply that came
// within the threshold is a success whatever go-redis was prepared to wait.
func TestBlockingCommandsAreNotSlowCalls(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newTestClient(t, Options{
		Redis:   &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Breaker: breaker.Settings{ConsecutiveFailures: 1, SlowCallThreshold: 20 * time.Millisecond},
	})
	ctx := context.Background()
	for range 3 {
		if err := c.BLPop(ctx, 100*time.Millisecond, "empty").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("BLPOP on an empty list: %v, want redis.Nil after its timeout", err)
		}
	}
	if err := c.LPush(ctx, "full", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.BLPop(ctx, time.Minute, "full").Err(); err != nil {
		t.Fatalf("BLPOP on a list with an element: %v", err)
	}
	if got := statusOf(c).Counts; got.TotalFailures != 0 || got.TotalSuccesses < 2 || statusOf(c).State != breaker.StateClosed {
		t.Fatalf("breaker %v, counts %+v after blocking commands: want closed, no failure, the quick replies counted", statusOf(c).State, got)
	}

	srv.Stop()
	time.AfterFunc(100*time.Millisecond, srv.Continue)
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET from a server paused for 100 ms: %v, want redis.Nil", err)
	}
	if got := statusOf(c).State; got != breaker.StateOpen {
		t.Fatalf("breaker %v after a reply 100 ms late with a 20 ms threshold, want open", got)
	}
}

// A server that answers nothing keeps the pacing: no drained reply gives a
// dial back, so callers with short deadlines get no more new connections
// than the pool's size plus DialRate per second, whatever the breaker does.
func TestSilentServerGetsOnlyPacedDials(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{proxy.Addr()}}})
	poolSize := c.UniversalClient.(*redis.Client).Options().PoolSize
	var warm sync.WaitGroup
	for range poolSize {
		warm.Go(func() { _ = c.Get(context.Background(), "k").Err() })
	}
	warm.Wait()
	proxy.Blackhole()
	before := proxy.Accepted()
	const window = 4 * time.Second
	stop := time.Now().Add(window)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				_ = c.Get(ctx, "k").Err()
				cancel()
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	dials := proxy.Accepted() - before
	bound := poolSize + DefaultDialRate*int(window/time.Second) + 2
	t.Logf("a silent server, 32 callers with a 100 ms budget, %v: %d new connections (bound %d)", window, dials, bound)
	if dials > bound {
		t.Errorf("%d new connections in %v, want at most %d", dials, window, bound)
	}
}
