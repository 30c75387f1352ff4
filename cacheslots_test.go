package redisguard

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// newCSCClient returns a guarded client with go-redis's client-side cache on
// srv and the options o, its go-redis ReadTimeout readTimeout.
func newCSCClient(t *testing.T, srv *redistest.Server, readTimeout time.Duration, o Options) *Client {
	t.Helper()
	co := cscClientOptions(srv.Addr())
	o.Redis = &redis.UniversalOptions{
		Addrs: []string{co.Addr}, Protocol: co.Protocol, ClientSideCacheConfig: co.ClientSideCacheConfig,
		ReadTimeout: readTimeout, MaxRetries: co.MaxRetries,
	}
	return newTestClient(t, o)
}

// A read answered from go-redis's client-side cache takes no queue slot: with
// the only slot held by a command at the server, hits are still answered,
// while a miss, which needs the server, is refused with ErrQueueFull.
func TestCacheHitsTakeNoQueueSlot(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	writeCachedKeys(t, admin)
	var refusals atomic.Int32
	c := newCSCClient(t, srv, 5*time.Second, Options{QueueLimit: 1, Hooks: Hooks{OnRefused: func(err error) {
		if errors.Is(err, ErrQueueFull) {
			refusals.Add(1)
		}
	}}})
	if got := readCached(t, c); got != cachedKeys {
		t.Fatalf("read %d of %d keys", got, cachedKeys)
	}

	popped := make(chan error, 1)
	go func() { popped <- c.BLPop(context.Background(), 5*time.Second, "csc:list").Err() }()
	redistest.Eventually(t, 5*time.Second, "the BLPOP holds the one slot", func() bool { return c.QueueLen() == 1 })

	gets := serverGETCalls(t, admin)
	if got := readCached(t, c); got != cachedKeys {
		t.Fatalf("with the queue full, %d of %d cached keys were answered, want every one", got, cachedKeys)
	}
	if err := c.Get(context.Background(), "csc:never-read").Err(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a miss with the queue full: %v, want ErrQueueFull", err)
	}
	if n := serverGETCalls(t, admin) - gets; n != 0 {
		t.Fatalf("the server executed %d GETs with the queue full, want none", n)
	}
	if n := refusals.Load(); n != 1 {
		t.Fatalf("OnRefused saw %d ErrQueueFull refusals, want 1 (the miss)", n)
	}

	if err := admin.LPush(context.Background(), "csc:list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-popped; err != nil {
		t.Fatalf("BLPOP: %v", err)
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after the BLPOP returned, want 0", n)
	}
	if err := c.Get(context.Background(), "csc:never-read").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("the miss once the slot is free: %v, want redis.Nil", err)
	}
}

// The commands of a pipeline hold their slots while they use the network, as
// on a client without a cache: a transaction larger than the limit runs alone,
// and a pipeline runs the commands that fit.
func TestCachePipelinesHoldTheirSlots(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newCSCClient(t, srv, 5*time.Second, Options{QueueLimit: 1})
	ctx := context.Background()

	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "csc:tx", "1", 0)
		p.Get(ctx, "csc:tx")
		return nil
	}); err != nil {
		t.Fatalf("a transaction larger than QueueLimit 1: %v, want it to run alone", err)
	}
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "csc:tx")
		p.Get(ctx, "csc:tx")
		return nil
	})
	if !errors.Is(err, ErrQueueFull) || cmds[0].Err() != nil || !errors.Is(cmds[1].Err(), ErrQueueFull) {
		t.Fatalf("a pipeline of 2 with QueueLimit 1: %v (%v, %v), want the first run and the second refused with ErrQueueFull", err, cmds[0].Err(), cmds[1].Err())
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after the pipelines, want 0", n)
	}
}

// A command that waited in the offline queue holds its slot while it waits,
// and uses it when the server is back: the only slot is not taken twice.
func TestCacheOfflineQueueUsesItsSlot(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := newCSCClient(t, srv, 300*time.Millisecond, Options{QueueLimit: 1, OfflineQueue: true})
	srv.Stop()
	defer srv.Continue()
	if err := c.Incr(context.Background(), "csc:counter").Err(); err == nil {
		t.Fatal("INCR on a stopped server succeeded")
	}
	redistest.Eventually(t, 5*time.Second, "the client is reconnecting", func() bool { return c.State() == StateReconnecting })

	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got <- c.Get(ctx, "csc:waited").Err()
	}()
	redistest.Eventually(t, 5*time.Second, "the GET waits holding the slot", func() bool { return c.QueueLen() == 1 })
	if err := c.Get(context.Background(), "csc:other").Err(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a second command while the first waits: %v, want ErrQueueFull", err)
	}
	srv.Continue()
	if err := <-got; !errors.Is(err, redis.Nil) {
		t.Fatalf("the GET that waited: %v, want redis.Nil from the server", err)
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after the GET, want 0", n)
	}
}

// Under concurrent hits, misses, writes, pipelines and callers that give up,
// the queue never holds more than its limit and every slot comes back.
func TestCacheClientGivesBackEverySlot(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	writeCachedKeys(t, admin)
	const limit = 4
	c := newCSCClient(t, srv, 5*time.Second, Options{QueueLimit: limit})

	var most atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int64(c.QueueLen()); n > most.Load() {
				most.Store(n)
			}
			runtime.Gosched()
		}
	}()
	var full, failed atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 300 {
				ctx := context.Background()
				var err error
				switch i % 6 {
				case 0, 1:
					err = c.Get(ctx, cachedKey(i%cachedKeys)).Err()
				case 2:
					err = c.Get(ctx, fmt.Sprintf("csc:miss:%d:%d", g, i)).Err()
				case 3:
					err = c.Set(ctx, fmt.Sprintf("csc:w:%d", g), i, 0).Err()
				case 4:
					_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
						p.Get(ctx, cachedKey(0))
						p.Incr(ctx, "csc:n")
						return nil
					})
				case 5:
					ended, cancel := context.WithCancel(ctx)
					cancel()
					if err = c.Get(ended, fmt.Sprintf("csc:gone:%d", i)).Err(); errors.Is(err, context.Canceled) {
						err = nil
					}
				}
				switch {
				case err == nil || errors.Is(err, redis.Nil):
				case errors.Is(err, ErrQueueFull):
					full.Add(1)
				default:
					failed.Add(1)
					t.Errorf("goroutine %d, op %d: %v", g, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-watched
	t.Logf("QueueLimit %d: at most %d slots seen held, %d commands refused with ErrQueueFull", limit, most.Load(), full.Load())
	if most.Load() > limit {
		t.Fatalf("QueueLen reached %d, over the limit %d", most.Load(), limit)
	}
	if n := c.QueueLen(); n != 0 {
		t.Fatalf("QueueLen %d after every command returned, want 0: a slot was not given back", n)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v: it waited for slots nobody held (CloseTimeout 5 s)", d)
	}
}
