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

// Each connection keeps a Tally of the replies it received: counting a
// success writes only the connection's memory, yet the breaker's rules see
// every success.
func ExampleBreaker_RecordSuccess() {
	b, err := breaker.New(breaker.Settings{MinRequests: 4, FailureRatio: 0.5, ConsecutiveFailures: 100})
	if err != nil {
		log.Fatal(err)
	}
	type conn struct{ successes breaker.Tally }
	conns := []*conn{{}, {}}
	for i := range 4 {
		b.RecordSuccess(&conns[i%2].successes) // a reply arrived on this connection
	}
	for _, c := range conns {
		c.successes.Close() // the connection closed: its successes stay counted
	}
	for range 3 {
		b.Record(syscall.ECONNRESET)
	}
	fmt.Println(b.Counts().TotalSuccesses, b.Counts().TotalFailures, b.State())
	b.Record(syscall.ECONNRESET) // 4 of 8 failed
	fmt.Println(b.State())
	// Output:
	// 4 3 closed
	// open
}

// A late reply that shows the server answering again ends the open time at
// once: the probes then judge the server as it is now.
func ExampleBreaker_ServerAnswered() {
	b, err := breaker.New(breaker.Settings{ConsecutiveFailures: 1, MinOpenTimeout: time.Minute, OpenTimeout: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	ticket, _ := b.Allow()
	b.Done(ticket, breaker.ErrSlowCall) // a server stalled: open for a minute
	fmt.Println(b.State())
	b.ServerAnswered() // a reply to a call made before the opening came in time
	fmt.Println(b.State())
	probe, _ := b.Allow()
	b.Done(probe, nil)
	// Output:
	// open
	// half-open
}
