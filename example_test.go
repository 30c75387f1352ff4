package redisguard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

func Example() {
	srv, err := miniredis.Run() // an embedded server; point URL at a real one
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	rdb, err := redisguard.New(redisguard.Options{
		URL: "redis://" + srv.Addr() + "/0",
		Hooks: redisguard.Hooks{
			OnReconnecting: func(attempt int, delay time.Duration) {
				log.Printf("redis: reconnect attempt %d in %v", attempt, delay)
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rdb.State())
	if err := rdb.Set(ctx, "greeting", "hello", time.Minute).Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rdb.Get(ctx, "greeting").Val())
	// Output:
	// ready
	// hello
}

// Commands fail fast while the client reconnects; errors.Is tells why.
func ExampleErrNotReady() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	rdb, err := redisguard.New(redisguard.Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}

	srv.Close() // the server goes away
	for range 2 {
		err := rdb.Get(ctx, "greeting").Err()
		switch {
		case errors.Is(err, redisguard.ErrNotReady):
			// The message names the server and why it is down.
			fmt.Println("not ready: serve from the source of truth")
		case err != nil:
			fmt.Println("connection lost")
		}
	}
	fmt.Println(rdb.State())
	// Output:
	// not ready: serve from the source of truth
	// not ready: serve from the source of truth
	// reconnecting
}

// A custom strategy: a fixed delay, giving up when the password is wrong.
func ExampleReconnectFunc() {
	strategy := redisguard.ReconnectFunc(func(attempt int, cause error) (time.Duration, error) {
		if strings.Contains(cause.Error(), "WRONGPASS") {
			return 0, cause
		}
		return 500 * time.Millisecond, nil
	})
	opts := redisguard.Options{URL: "redis://cache.internal:6379", Reconnect: strategy}
	fmt.Println(opts.Reconnect.NextDelay(42, errors.New("connection refused")))
	// Output: 500ms <nil>
}

// Wrap guards a client the application already has.
func ExampleWrap() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	existing := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	rdb, err := redisguard.Wrap(existing, redisguard.Options{QueueLimit: 500})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close() // closes existing too

	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rdb.Ping(ctx).Val(), rdb.State(), rdb.QueueLen())
	// Output: PONG ready 0
}

// While the circuit breaker is open, commands fail at once with breaker.ErrOpen.
func ExampleClient_Breaker() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	rdb, err := redisguard.New(redisguard.Options{
		Redis:   &redis.UniversalOptions{Addrs: []string{srv.Addr()}, MaxRetries: -1},
		Breaker: breaker.Settings{ConsecutiveFailures: 3},
		Hooks: redisguard.Hooks{
			OnBreakerStateChange: func(from, to breaker.State) { fmt.Println("breaker:", from, "→", to) },
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}

	srv.SetError("LOADING Redis is loading the dataset in memory")
	for range 4 {
		err := rdb.Get(ctx, "product:42").Err()
		// The open breaker's error names the server and what opened it.
		fmt.Println(errors.Is(err, breaker.ErrOpen), strings.ReplaceAll(err.Error(), srv.Addr(), "<addr>"))
	}
	// Breaker returns a copy of the breaker's status, for a health check, say.
	status, _ := rdb.Breaker()
	fmt.Println(status.State, status.LastFailure)
	// Output:
	// false LOADING Redis is loading the dataset in memory
	// false LOADING Redis is loading the dataset in memory
	// breaker: closed → open
	// false LOADING Redis is loading the dataset in memory
	// true redisguard: <addr>: breaker: circuit open (last failure: LOADING Redis is loading the dataset in memory)
	// open LOADING Redis is loading the dataset in memory
}

// A write in flight when the Sentinels replaced the master may have been
// applied on the old one: the client does not send it again, and says so.
// Whether to write again is the application's call (an INCR, no; a SET of an
// absolute value, yes).
func ExampleErrMasterSwitched() {
	rdb, err := redisguard.New(redisguard.Options{
		Redis: &redis.UniversalOptions{MasterName: "mymaster", Addrs: []string{"127.0.0.1:26379"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = rdb.Set(ctx, "price:42", "9.90", 0).Err()
	if errors.Is(err, redisguard.ErrMasterSwitched) {
		// An absolute value: writing it again on the new master is safe.
		err = rdb.Set(ctx, "price:42", "9.90", 0).Err()
	}
	if err != nil {
		log.Print(err)
	}
}
