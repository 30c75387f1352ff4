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
