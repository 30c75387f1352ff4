package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/cache"
)

// timing is the length of each phase of the story.
type timing struct {
	healthy, stalled, down, back time.Duration
	breakerOpen                  time.Duration // the breaker's OpenTimeout
	report                       time.Duration // between traffic lines
	dbLatency                    time.Duration // of one database read
}

var (
	fullTiming  = timing{healthy: 3 * time.Second, stalled: 5 * time.Second, down: 7 * time.Second, back: 5 * time.Second, breakerOpen: 3 * time.Second, report: time.Second, dbLatency: 3 * time.Millisecond}
	shortTiming = timing{healthy: 300 * time.Millisecond, stalled: 600 * time.Millisecond, down: 900 * time.Millisecond, back: 3 * time.Second, breakerOpen: 300 * time.Millisecond, report: 250 * time.Millisecond, dbLatency: time.Millisecond}
)

const (
	workers  = 8
	products = 50
)

// summary is the table printed at the end.
type summary struct {
	Requests, FromCache, FromLoader, Errors int64
	Recovery                                time.Duration // from Redis back to the first answer from Redis; 0 if never
}

func (s summary) print(w io.Writer) {
	recovery := "not recovered"
	if s.Recovery > 0 {
		recovery = s.Recovery.Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "\n%-26s %10d\n%-26s %10d\n%-26s %10d\n%-26s %10d\n%-26s %10s\n",
		"requests", s.Requests,
		"served from cache", s.FromCache,
		"served by the loader", s.FromLoader,
		"errors seen by callers", s.Errors,
		"time to recover", recovery)
}

// demo is one run of the story.
type demo struct {
	out   io.Writer
	mu    sync.Mutex // serializes the lines of out
	start time.Time

	fromCache, fromLoader, errs atomic.Int64
	backAt                      atomic.Int64 // unix nanos when Redis came back
	recovery                    atomic.Int64 // nanos from then to the first hit
}

// say prints one line, stamped with the time since the start.
func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "[%6.2fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// observe counts a cache result; the first answer from Redis after its return
// ends the recovery.
func (d *demo) observe(_ string, r cache.Result) {
	switch r {
	case cache.ResultHit, cache.ResultNegativeHit:
		d.fromCache.Add(1)
		if back := d.backAt.Load(); back != 0 && d.recovery.Load() == 0 {
			d.recovery.CompareAndSwap(0, time.Now().UnixNano()-back)
		}
	case cache.ResultMiss, cache.ResultFallback, cache.ResultCorrupt:
		d.fromLoader.Add(1)
	}
}

func run(ctx context.Context, out io.Writer, t timing) (summary, error) {
	d := &demo{out: out, start: time.Now()}
	srv, err := miniredis.Run()
	if err != nil {
		return summary{}, err
	}
	defer srv.Close()

	rdb, err := redisguard.New(redisguard.Options{
		URL:       "redis://" + srv.Addr(),
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1, Jitter: 0.1},
		Breaker:   breaker.Settings{OpenTimeout: t.breakerOpen},
		Hooks: redisguard.Hooks{
			OnReady: func() { d.say("redis: ready") },
			OnError: func(err error) { d.say("redis: %v", err) },
			OnReconnecting: func(attempt int, delay time.Duration) {
				d.say("redis: reconnect attempt %d in %v", attempt, delay.Round(time.Millisecond))
			},
			OnBreakerStateChange: func(from, to breaker.State) { d.say("breaker: %v → %v", from, to) },
		},
	})
	if err != nil {
		return summary{}, err
	}
	defer rdb.Close()
	if err := rdb.WaitReady(ctx); err != nil {
		return summary{}, err
	}

	db := func(ctx context.Context, id string) (string, error) {
		time.Sleep(t.dbLatency)
		return "product " + id, nil
	}
	c, err := cache.New[string](rdb, cache.Options{Prefix: "product:", TTL: time.Hour, Observer: d.observe})
	if err != nil {
		return summary{}, err
	}

	trafficCtx, stopTraffic := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { d.traffic(trafficCtx, c, db) })
	}
	wg.Go(func() { d.report(trafficCtx, t.report) })

	phases := []struct {
		say  string
		do   func()
		last time.Duration
	}{
		{"traffic: 8 workers reading 50 products through the cache", func() {}, t.healthy},
		{"Redis stalls: it answers LOADING to every command", func() { srv.SetError("LOADING Redis is loading the dataset in memory") }, t.stalled},
		{"Redis crashes", srv.Close, t.down},
		{"Redis is back", func() {
			srv.SetError("")
			if err := srv.Restart(); err != nil {
				d.say("restart failed: %v", err)
			}
			d.backAt.Store(time.Now().UnixNano())
		}, t.back},
	}
	for _, p := range phases {
		d.say("── %s", p.say)
		p.do()
		if !sleep(ctx, p.last) {
			break
		}
	}
	stopTraffic()
	wg.Wait()

	s := summary{
		FromCache:  d.fromCache.Load(),
		FromLoader: d.fromLoader.Load(),
		Errors:     d.errs.Load(),
		Recovery:   time.Duration(d.recovery.Load()),
	}
	s.Requests = s.FromCache + s.FromLoader + s.Errors
	b, _ := rdb.Breaker()
	d.say("redis: %v, breaker %v; done", rdb.State(), b.State)
	return s, ctx.Err()
}

// traffic reads random products until ctx ends.
func (d *demo) traffic(ctx context.Context, c *cache.Cache[string], db cache.Loader[string]) {
	for ctx.Err() == nil {
		id := fmt.Sprint(rand.IntN(products) + 1)
		if _, err := c.Get(ctx, id, db); err != nil && !errors.Is(err, context.Canceled) {
			d.errs.Add(1)
			d.say("a caller got an error: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// report prints how requests were answered, every interval.
func (d *demo) report(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var cache0, loader0, errs0 int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fromCache, fromLoader, errs := d.fromCache.Load(), d.fromLoader.Load(), d.errs.Load()
		d.say("traffic: %4d requests: %4d from Redis, %4d by the loader, %d errors",
			fromCache-cache0+fromLoader-loader0+errs-errs0, fromCache-cache0, fromLoader-loader0, errs-errs0)
		cache0, loader0, errs0 = fromCache, fromLoader, errs
	}
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
