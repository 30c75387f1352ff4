package circuit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
		b.Done(Ticket{done: done}, errReset)
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

// The closed path and the refusal while open never wait for gobreaker's lock:
// they go on while OnStateChange, which gobreaker calls with its lock held,
// is blocked.
func TestClosedAndOpenPathsTakeNoLock(t *testing.T) {
	check := func(t *testing.T, blockOn string, while func(b *Breaker) error) {
		entered, release := make(chan struct{}), make(chan struct{})
		b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond,
			OnStateChange: func(from, to State) {
				if from.String()+"→"+to.String() == blockOn {
					close(entered)
					<-release
				}
			}})
		changed := make(chan struct{})
		go func() {
			defer close(changed)
			if blockOn == "closed→open" {
				_ = call(t, b, errReset)
				return
			}
			_ = call(t, b, errReset)
			for b.State() != StateHalfOpen { // after the 10 ms open timeout
				time.Sleep(time.Millisecond)
			}
			for range DefaultHalfOpenRequests {
				_ = call(t, b, nil)
			}
		}()
		<-entered
		result := make(chan error, 1)
		go func() { result <- while(b) }()
		select {
		case err := <-result:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("blocked on gobreaker's lock during %s", blockOn)
		}
		close(release)
		<-changed
	}
	t.Run("closed", func(t *testing.T) {
		check(t, "half-open→closed", func(b *Breaker) error {
			for range 100 {
				tk, err := b.Allow()
				if err != nil {
					return err
				}
				b.Done(tk, nil)
			}
			if s := b.State(); s != StateClosed {
				return fmt.Errorf("state %v", s)
			}
			return nil
		})
	})
	t.Run("open", func(t *testing.T) {
		check(t, "closed→open", func(b *Breaker) error {
			for range 100 {
				if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
					return fmt.Errorf("Allow while open: %v, want ErrOpen", err)
				}
			}
			return nil
		})
	})
}

// Many callers fail at once: the breaker opens exactly once, and the
// failures reported after it opened are ignored.
func TestConcurrentFailuresOpenOnce(t *testing.T) {
	for _, callers := range []int{DefaultConsecutiveFailures, 64, 256} {
		t.Run(fmt.Sprint(callers, " callers"), func(t *testing.T) {
			for round := range 20 {
				var tr transitions
				b := mustNew(t, Settings{OpenTimeout: time.Hour, OnStateChange: tr.record})
				// All callers hold a ticket before any reports, so that every
				// failure races the trip.
				tickets := make([]Ticket, callers)
				for i := range tickets {
					tickets[i], _ = b.Allow()
				}
				start := make(chan struct{})
				var wg sync.WaitGroup
				for _, tk := range tickets {
					wg.Go(func() {
						<-start
						b.Done(tk, errReset)
					})
				}
				close(start)
				wg.Wait()
				if got := tr.String(); got != "[closed→open]" || b.State() != StateOpen {
					t.Fatalf("round %d: state %v, transitions %s, want one closed→open", round, b.State(), got)
				}
			}
		})
	}
}

// Callers report random outcomes while the breaker cycles through every
// state: each change is reported once, in order, and only along the edges of
// the state machine.
func TestTransitionsUnderConcurrentCallers(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []State // to, of each change
		bad  []string
	)
	last := StateClosed
	b := mustNew(t, Settings{
		ConsecutiveFailures: 3, MinRequests: 10, Window: 50 * time.Millisecond,
		OpenTimeout: time.Millisecond, HalfOpenRequests: 2,
		OnStateChange: func(from, to State) {
			mu.Lock()
			defer mu.Unlock()
			legal := map[[2]State]bool{
				{StateClosed, StateOpen}: true, {StateOpen, StateHalfOpen}: true,
				{StateHalfOpen, StateClosed}: true, {StateHalfOpen, StateOpen}: true,
			}
			if from != last || !legal[[2]State{from, to}] {
				bad = append(bad, fmt.Sprintf("%v→%v after →%v", from, to, last))
			}
			last = to
			seen = append(seen, to)
		},
	})
	var (
		stop     atomic.Bool
		admitted atomic.Int64
		wg       sync.WaitGroup
	)
	for range 64 {
		wg.Go(func() {
			for !stop.Load() {
				tk, err := b.Allow()
				if err != nil {
					continue
				}
				admitted.Add(1)
				var outcome error
				switch r := rand.IntN(10); {
				case r < 3:
					outcome = errReset
				case r == 3:
					outcome = context.Canceled
				case r == 4:
					outcome = ErrSlowCall
				}
				b.Done(tk, outcome)
			}
		})
	}
	began := time.Now()
	deadline := began.Add(20 * time.Second)
	for {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		closes := 0
		for _, to := range seen {
			if to == StateClosed {
				closes++
			}
		}
		mu.Unlock()
		if closes >= 5 && time.Since(began) > 300*time.Millisecond || time.Now().After(deadline) {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("changes out of order or off the state machine: %v", bad)
	}
	closes := 0
	for _, to := range seen {
		if to == StateClosed {
			closes++
		}
	}
	if closes < 5 {
		t.Fatalf("%d changes (%d back to closed) in 20 s with %d calls admitted: the breaker did not cycle", len(seen), closes, admitted.Load())
	}
	t.Logf("%d changes, %d calls admitted", len(seen), admitted.Load())
}
