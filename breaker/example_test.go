package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"syscall"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// Answer from the database when Redis fails: the seed's graceful degradation.
func ExampleDo() {
	b, err := breaker.New(breaker.Settings{ConsecutiveFailures: 2, OpenTimeout: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fromRedis := func(context.Context) (string, error) {
		return "", syscall.ECONNREFUSED // Redis is down
	}
	fromDatabase := func(_ context.Context, cause error) (string, error) {
		return "product 42 (from the database, because: " + cause.Error() + ")", nil
	}
	ctx := context.Background()
	for range 3 {
		product, err := breaker.Do(ctx, b, fromRedis, fromDatabase)
		fmt.Println(product, err, b.State())
	}
	// Output:
	// product 42 (from the database, because: connection refused) <nil> closed
	// product 42 (from the database, because: connection refused) <nil> open
	// product 42 (from the database, because: breaker: circuit open) <nil> open
}

// The two-step form, around any call.
func ExampleBreaker_Allow() {
	b, err := breaker.New(breaker.Settings{
		OnStateChange: func(from, to breaker.State) { fmt.Println("breaker:", from, "→", to) },
	})
	if err != nil {
		log.Fatal(err)
	}
	for range breaker.DefaultConsecutiveFailures + 1 {
		done, err := b.Allow()
		if errors.Is(err, breaker.ErrOpen) {
			fmt.Println("refused without a call")
			continue
		}
		done(syscall.ECONNRESET) // the call's outcome
	}
	// Output:
	// breaker: closed → open
	// refused without a call
}
