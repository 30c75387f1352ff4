package redisguard

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// listener records when a subscriber heard each message of a publisher that
// numbers them.
type listener struct {
	mu    sync.Mutex
	heard map[int]time.Time
}

func listen(ch <-chan *redis.Message) *listener {
	l := &listener{heard: make(map[int]time.Time)}
	go func() {
		for msg := range ch {
			n, _ := strconv.Atoi(msg.Payload)
			l.mu.Lock()
			l.heard[n] = time.Now()
			l.mu.Unlock()
		}
	}()
	return l
}

// firstFrom returns when the subscriber first heard a message numbered n or
// above.
func (l *listener) firstFrom(n int) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := time.Time{}
	for k, at := range l.heard {
		if k >= n && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// missed counts the messages numbered in [from, to) the subscriber never
// heard.
func (l *listener) missed(from, to int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := from; k < to; k++ {
		if _, ok := l.heard[k]; !ok {
			n++
		}
	}
	return n
}

// TestPubSubHearsAgainAfterARestart: a subscriber through the guard hears
// messages again after Redis is restarted (at once, and after 3 s down) no
// later than a plain go-redis subscriber plus the reconnect schedule's delay
// pending when Redis came back: its reconnection waits for the supervisor.
// Messages published while a subscriber is away are lost for both
// (Pub/Sub delivers at most once).
func TestPubSubHearsAgainAfterARestart(t *testing.T) {
	t.Parallel()
	for _, down := range []time.Duration{0, 3 * time.Second} {
		t.Run("down "+down.String(), func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t)
			rec := newRecorder()
			c := newTestClient(t, Options{
				Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
				Reconnect: ExponentialBackoff{MaxRetries: -1},
				Hooks:     rec.hooks(),
			})
			plain := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { plain.Close() })
			ctx := context.Background()
			subs := map[string]*redis.PubSub{"redisguard": c.Subscribe(ctx, "news"), "plain go-redis": plain.Subscribe(ctx, "news")}
			heard := make(map[string]*listener)
			for name, ps := range subs {
				if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
					t.Fatal(err)
				}
				t.Cleanup(func() { ps.Close() })
				heard[name] = listen(ps.Channel())
			}

			// A publisher numbers its messages, one every 5 ms.
			pub := srv.Client(t)
			var mu sync.Mutex
			sent := 0
			pubCtx, stopPub := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() {
				for pubCtx.Err() == nil {
					mu.Lock()
					n := sent
					mu.Unlock()
					if pub.Publish(pubCtx, "news", strconv.Itoa(n)).Err() == nil {
						mu.Lock()
						sent++
						mu.Unlock()
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
			defer func() { stopPub(); wg.Wait() }() // after a failure
			mark := func() int {
				mu.Lock()
				defer mu.Unlock()
				return sent
			}
			redistest.Eventually(t, 5*time.Second, "both subscribers hear", func() bool {
				_, a := heard["redisguard"].firstFrom(0)
				_, b := heard["plain go-redis"].firstFrom(0)
				return a && b
			})

			before := mark()
			srv.Kill()
			// The guard notices through its subscriber's failed dial, or a
			// command; a command shows it at once.
			_ = c.Ping(ctx).Err()
			time.Sleep(down)
			srv.Restart()
			back := time.Now()
			delay := time.Duration(0) // the wait scheduled last before Redis was back
			for _, e := range rec.snapshot() {
				if e.kind == "reconnecting" && e.at.Before(back) {
					delay = e.delay
				}
			}
			after := mark()
			results := make(map[string]time.Duration)
			for name, l := range heard {
				var at time.Time
				redistest.Eventually(t, 15*time.Second, name+" hears again", func() bool {
					var ok bool
					at, ok = l.firstFrom(after)
					return ok
				})
				results[name] = at.Sub(back)
			}
			time.Sleep(200 * time.Millisecond)
			stopPub()
			wg.Wait()
			time.Sleep(100 * time.Millisecond) // the last messages delivered
			end := mark()
			for name, l := range heard {
				t.Logf("down %v: %s heard again %v after the restart; of the %d messages Redis accepted from just before the kill on, it missed %d",
					down, name, results[name].Round(time.Millisecond), end-before, l.missed(before, end))
			}
			t.Logf("down %v: the reconnect delay pending at the restart: %v", down, delay)
			// The guarded subscriber waits at most for the pending attempt;
			// the second of slack is for a loaded machine.
			if g, p := results["redisguard"], results["plain go-redis"]; g > p+delay+time.Second {
				t.Fatalf("the guarded subscriber heard again %v after the restart; plain go-redis %v, pending delay %v", g, p, delay)
			}
		})
	}
}
