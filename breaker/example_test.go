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

// Answer from the database when Redis fails: graceful degradation.
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

// The two-step form, around any call: Allow before it, Done with its outcome.
func ExampleBreaker_Allow() {
	b, err := breaker.New(breaker.Settings{
		OnStateChange: func(from, to breaker.State) { fmt.Println("breaker:", from, "→", to) },
	})
	if err != nil {
		log.Fatal(err)
	}
	for range breaker.DefaultConsecutiveFailures + 1 {
		t, err := b.Allow()
		if errors.Is(err, breaker.ErrOpen) {
			fmt.Println("refused without a call")
			continue
		}
		b.Done(t, syscall.ECONNRESET) // the call's outcome
	}
	// Output:
	// breaker: closed → open
	// refused without a call
}

// A caller that times its server reports a reply later than the threshold as
// ErrSlowCall, even a successful one. Its clock starts when the request is
// written, not when the caller began waiting for a connection.
func ExampleErrSlowCall() {
	b, err := breaker.New(breaker.Settings{ConsecutiveFailures: 1, SlowCallThreshold: 20 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	slowServer := func() error { time.Sleep(30 * time.Millisecond); return nil } // it answers, late

	t, err := b.Allow()
	if err != nil {
		log.Fatal(err)
	}
	written := time.Now() // the request went out on a connection
	err = slowServer()
	if err == nil && time.Since(written) > b.SlowCallThreshold() {
		err = breaker.ErrSlowCall
	}
	b.Done(t, err)
	fmt.Println(b.State())

	// A caller that gave up after the threshold wraps both errors: it counts.
	// One that gave up before it reports only its context's error: it does not.
	gaveUpLate := fmt.Errorf("%w: %w", breaker.ErrSlowCall, context.DeadlineExceeded)
	fmt.Println(breaker.IsFailure(gaveUpLate), breaker.IsFailure(context.DeadlineExceeded))
	// Output:
	// open
	// true false
}
