package circuit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// mustNew is New for settings a test knows to be valid.
func mustNew(t testing.TB, s Settings) *Breaker {
	t.Helper()
	b, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openThenClose trips b with failures, waits out its open timeout and closes
// it with successful probes.
func openThenClose(t *testing.T, b *Breaker) {
	t.Helper()
	for b.State() == StateClosed {
		if err := call(t, b, errReset); err != nil {
			t.Fatalf("refused while closed: %v", err)
		}
	}
	passOpenTime(t, b)
	for b.State() == StateHalfOpen {
		if err := call(t, b, nil); err != nil {
			t.Fatalf("probe refused: %v", err)
		}
	}
	if b.State() != StateClosed {
		t.Fatalf("state %v after successful probes, want closed", b.State())
	}
}

func TestCountersStartAfreshWhenClosed(t *testing.T) {
	b := mustNew(t, Settings{OpenTimeout: 10 * time.Millisecond})
	for range DefaultConsecutiveFailures - 1 {
		_ = call(t, b, errReset)
	}
	openThenClose(t, b)
	if c := b.Counts(); c != (Counts{}) {
		t.Fatalf("counts %+v just after closing, want zero", c)
	}
	for i := range DefaultConsecutiveFailures - 1 {
		_ = call(t, b, errReset)
		if b.State() != StateClosed {
			t.Fatalf("open after %d failures since closing: failures before it were kept", i+1)
		}
	}
	_ = call(t, b, errReset)
	if b.State() != StateOpen {
		t.Fatalf("state %v after %d failures, want open", b.State(), DefaultConsecutiveFailures)
	}
}

func TestASuccessEndsTheRun(t *testing.T) {
	b := mustNew(t, Settings{MinRequests: 1000})
	for range 4 {
		_ = call(t, b, errReset)
	}
	_ = call(t, b, nil)
	if c := b.Counts(); c.ConsecutiveFailures != 0 || c.TotalFailures != 4 || c.TotalSuccesses != 1 || c.Requests != 5 {
		t.Fatalf("counts %+v after 4 failures and a success", c)
	}
	for range 4 {
		_ = call(t, b, errReset)
	}
	if b.State() != StateClosed {
		t.Fatal("open after 4 failures in a row")
	}
	_ = call(t, b, errReset)
	if b.State() != StateOpen {
		t.Fatalf("state %v after 5 failures in a row, want open", b.State())
	}
}

func TestARunOlderThanTheWindowIsForgotten(t *testing.T) {
	// A window long enough that the three failures below fit in it, however
	// loaded the machine.
	b := mustNew(t, Settings{ConsecutiveFailures: 3, MinRequests: 1000, Window: 500 * time.Millisecond})
	_ = call(t, b, errReset)
	_ = call(t, b, errReset)
	time.Sleep(750 * time.Millisecond) // both failures left the window
	_ = call(t, b, errReset)
	if c := b.Counts(); b.State() != StateClosed || c.ConsecutiveFailures != 1 {
		t.Fatalf("state %v, counts %+v: failures older than the window still count", b.State(), c)
	}
	_ = call(t, b, errReset)
	_ = call(t, b, errReset)
	if b.State() != StateOpen {
		t.Fatalf("state %v after 3 failures in a row within the window, want open", b.State())
	}
}

func TestOutcomesOfAnEarlierStateAreIgnored(t *testing.T) {
	t.Run("closed, reported after a trip and a close", func(t *testing.T) {
		b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond})
		late, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		openThenClose(t, b)
		b.Done(late, errReset)
		if b.State() != StateClosed || b.Counts().TotalFailures != 0 {
			t.Fatalf("state %v, counts %+v: an outcome from the earlier closed state counted", b.State(), b.Counts())
		}
	})
	t.Run("closed, reported while half-open", func(t *testing.T) {
		b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond})
		late, _ := b.Allow()
		_ = call(t, b, errReset)
		passOpenTime(t, b)
		probe, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.Done(late, errReset)
		if b.State() != StateHalfOpen {
			t.Fatalf("state %v: a failure admitted while closed reopened the half-open breaker", b.State())
		}
		b.Done(probe, nil)
	})
	t.Run("probe, reported after another probe failed", func(t *testing.T) {
		b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond})
		_ = call(t, b, errReset)
		passOpenTime(t, b)
		failing, _ := b.Allow()
		late, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.Done(failing, errReset)
		b.Done(late, nil)
		if b.State() != StateOpen {
			t.Fatalf("state %v after a failed probe, want open", b.State())
		}
		passOpenTime(t, b)
		for range DefaultHalfOpenRequests - 1 {
			_ = call(t, b, nil)
		}
		if b.State() != StateHalfOpen {
			t.Fatalf("state %v: a probe of the earlier half-open state counted toward closing", b.State())
		}
		_ = call(t, b, nil)
		if b.State() != StateClosed {
			t.Fatalf("state %v after %d fresh probes, want closed", b.State(), DefaultHalfOpenRequests)
		}
	})
	t.Run("admitted by gobreaker just after it closed", func(t *testing.T) {
		// An Allow that saw the half-open state asks gobreaker, which has
		// closed in the meantime and admits the call itself.
		b := mustNew(t, Settings{ConsecutiveFailures: 2, OpenTimeout: 10 * time.Millisecond})
		openThenClose(t, b)
		done, err := b.cb.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.Done(Ticket{&admission{done: done}}, errReset)
		if b.State() != StateClosed {
			t.Fatalf("state %v: one failure opened the breaker through gobreaker", b.State())
		}
	})
	t.Run("the zero Ticket", func(t *testing.T) {
		b := mustNew(t, Settings{ConsecutiveFailures: 1})
		b.Done(Ticket{}, errReset)
		if b.State() != StateClosed || b.Counts() != (Counts{}) {
			t.Fatalf("state %v, counts %+v after Done of the zero Ticket", b.State(), b.Counts())
		}
	})
}

func TestSlowCallsAreFailures(t *testing.T) {
	for _, outcome := range []error{
		ErrSlowCall,
		fmt.Errorf("GET k: %w", ErrSlowCall),
		fmt.Errorf("%w: %w", ErrSlowCall, context.DeadlineExceeded), // the caller gave up after the threshold
		fmt.Errorf("%w: %w", ErrSlowCall, context.Canceled),
	} {
		if IsExcluded(outcome) || !IsFailure(outcome) {
			t.Errorf("%v: IsExcluded %v, IsFailure %v; want a failure", outcome, IsExcluded(outcome), IsFailure(outcome))
		}
		b := mustNew(t, Settings{ConsecutiveFailures: 1})
		_ = call(t, b, outcome)
		if b.State() != StateOpen {
			t.Errorf("%v left the breaker %v", outcome, b.State())
		}
	}
	// A caller that gave up before the threshold says nothing about the server.
	b := mustNew(t, Settings{ConsecutiveFailures: 1})
	_ = call(t, b, context.DeadlineExceeded)
	if c := b.Counts(); b.State() != StateClosed || c.TotalExclusions != 1 {
		t.Fatalf("state %v, counts %+v after a deadline before the threshold", b.State(), c)
	}
}

func TestSlowCallThreshold(t *testing.T) {
	if got := mustNew(t, Settings{}).SlowCallThreshold(); got != DefaultSlowCallThreshold {
		t.Errorf("default threshold %v, want %v", got, DefaultSlowCallThreshold)
	}
	if got := mustNew(t, Settings{SlowCallThreshold: time.Second}).SlowCallThreshold(); got != time.Second {
		t.Errorf("threshold %v, want 1s", got)
	}
	// Well above a healthy reply and the cache's budget, yet within a second.
	if DefaultSlowCallThreshold <= 100*time.Millisecond || DefaultSlowCallThreshold >= time.Second {
		t.Errorf("DefaultSlowCallThreshold %v outside (100ms, 1s)", DefaultSlowCallThreshold)
	}
}
