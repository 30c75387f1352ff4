package circuit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var errReset error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// transitions records OnStateChange calls.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(from, to State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, from.String()+"→"+to.String())
}

func (tr *transitions) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return fmt.Sprint(tr.got)
}

func call(t *testing.T, b *Breaker, outcome error) error {
	t.Helper()
	tk, err := b.Allow()
	if err != nil {
		return err
	}
	b.Done(tk, outcome)
	return nil
}

func TestBreakerLifecycle(t *testing.T) {
	var tr transitions
	b, err := New(Settings{OpenTimeout: 50 * time.Millisecond, OnStateChange: tr.record})
	if err != nil {
		t.Fatal(err)
	}
	for i := range DefaultConsecutiveFailures {
		if b.State() != StateClosed {
			t.Fatalf("open after %d failures", i)
		}
		if err := call(t, b, errReset); err != nil {
			t.Fatalf("call %d refused: %v", i, err)
		}
	}
	if b.State() != StateOpen {
		t.Fatalf("state %v after %d failures in a row, want open", b.State(), DefaultConsecutiveFailures)
	}
	for range 10 {
		if err := call(t, b, nil); !errors.Is(err, ErrOpen) {
			t.Fatalf("call while open: %v, want ErrOpen", err)
		}
	}

	passOpenTime(t, b)
	if b.State() != StateHalfOpen {
		t.Fatalf("state %v after the open timeout, want half-open", b.State())
	}
	// Three probes go through; a fourth is refused while they are in flight.
	var probes []Ticket
	for i := range DefaultHalfOpenRequests {
		tk, err := b.Allow()
		if err != nil {
			t.Fatalf("probe %d refused: %v", i, err)
		}
		probes = append(probes, tk)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("a call beyond the probes: %v, want ErrOpen", err)
	}
	for _, tk := range probes {
		b.Done(tk, nil)
	}
	if b.State() != StateClosed {
		t.Fatalf("state %v after the probes succeeded, want closed", b.State())
	}
	if got, want := tr.String(), "[closed→open open→half-open half-open→closed]"; got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
}

func TestHalfOpenFailureReopens(t *testing.T) {
	var tr transitions
	b, _ := New(Settings{ConsecutiveFailures: 1, OpenTimeout: 20 * time.Millisecond, OnStateChange: tr.record})
	_ = call(t, b, errReset)
	passOpenTime(t, b)
	if err := call(t, b, errReset); err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	if b.State() != StateOpen {
		t.Fatalf("state %v after a failed probe, want open", b.State())
	}
	if got, want := tr.String(), "[closed→open open→half-open half-open→open]"; got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
}

func TestFailureRatioOpens(t *testing.T) {
	b, _ := New(Settings{ConsecutiveFailures: 100, MinRequests: 20, FailureRatio: 0.5})
	// Alternate, so that failures never come 100 in a row.
	for i := range 19 {
		outcome := errReset
		if i%2 == 0 {
			outcome = nil
		}
		_ = call(t, b, outcome)
	}
	if b.State() != StateClosed {
		t.Fatalf("open before MinRequests: %+v", b.Counts())
	}
	_ = call(t, b, errReset) // 10 of 20 failed
	if b.State() != StateOpen {
		t.Fatalf("state %v with half of 20 calls failed, want open (%+v)", b.State(), b.Counts())
	}
}

func TestFailureRatioForgetsOldCalls(t *testing.T) {
	b, _ := New(Settings{ConsecutiveFailures: 100, MinRequests: 4, FailureRatio: 0.5, Window: 100 * time.Millisecond})
	_ = call(t, b, errReset)
	_ = call(t, b, errReset)
	_ = call(t, b, errReset)
	time.Sleep(150 * time.Millisecond) // the window moved past them
	_ = call(t, b, errReset)
	_ = call(t, b, nil)
	_ = call(t, b, nil)
	_ = call(t, b, nil)
	if b.State() != StateClosed {
		t.Fatalf("state %v: failures older than the window still counted (%+v)", b.State(), b.Counts())
	}
}

func TestExcludedOutcomesAreNotCounted(t *testing.T) {
	b, _ := New(Settings{ConsecutiveFailures: 2})
	_ = call(t, b, errReset)
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("wrapped: %w", context.Canceled)} {
		_ = call(t, b, err)
	}
	c := b.Counts()
	if c.TotalExclusions != 3 || c.ConsecutiveFailures != 1 || c.TotalSuccesses != 0 {
		t.Fatalf("counts %+v: the caller's context ending must count neither way", c)
	}
	_ = call(t, b, redis.Nil) // a success: the server answered
	if c := b.Counts(); c.ConsecutiveFailures != 0 || c.TotalSuccesses != 1 {
		t.Fatalf("counts %+v after redis.Nil", c)
	}
}

func TestStateMayBeReadFromOnStateChange(t *testing.T) {
	var b *Breaker
	seen := make(chan State, 4)
	b, _ = New(Settings{ConsecutiveFailures: 1, OnStateChange: func(_, to State) {
		seen <- b.State() // would deadlock if State locked the breaker
	}})
	_ = call(t, b, errReset)
	if s := <-seen; s != StateOpen {
		t.Fatalf("State() inside OnStateChange: %v, want open", s)
	}
}

func TestCustomClassifier(t *testing.T) {
	errSlow := errors.New("slow")
	b, _ := New(Settings{ConsecutiveFailures: 1, IsFailure: func(err error) bool { return err == errSlow }})
	_ = call(t, b, errReset)
	if b.State() != StateClosed {
		t.Fatal("the custom classifier was not used")
	}
	if !b.IsFailure(errSlow) {
		t.Fatal("IsFailure does not report the custom classifier")
	}
	_ = call(t, b, errSlow)
	if b.State() != StateOpen {
		t.Fatal("a custom failure did not open the breaker")
	}
}

func TestNewRejectsInvalidSettings(t *testing.T) {
	for _, tt := range []struct {
		s     Settings
		field string
	}{
		{Settings{FailureRatio: -0.1}, "FailureRatio"},
		{Settings{FailureRatio: 1.5}, "FailureRatio"},
		{Settings{Window: -time.Second}, "Window"},
		{Settings{Window: time.Millisecond}, "Window"},
		{Settings{OpenTimeout: -time.Second}, "OpenTimeout"},
		{Settings{SlowCallThreshold: -time.Millisecond}, "SlowCallThreshold"},
	} {
		_, err := New(tt.s)
		var se *SettingsError
		if !errors.As(err, &se) || se.Field != tt.field {
			t.Errorf("New(%+v): %v, want a SettingsError for %s", tt.s, err, tt.field)
		}
	}
}

func TestRecordCountsOnlyWhileClosed(t *testing.T) {
	var tr transitions
	b := mustNew(t, Settings{ConsecutiveFailures: 2, OpenTimeout: 20 * time.Millisecond, OnStateChange: tr.record})

	if !b.Record(nil) {
		t.Fatal("Record(nil) while closed was not counted")
	}
	if got := b.Counts(); got.TotalSuccesses != 1 {
		t.Fatalf("counts %+v after one recorded success, want 1 success", got)
	}
	// A recorded success ends a run of failures as one reported with Done does.
	_ = call(t, b, errReset)
	b.Record(nil)
	_ = call(t, b, errReset)
	if b.State() != StateClosed {
		t.Fatalf("state %v: a recorded success did not end the run", b.State())
	}
	if !b.Record(ErrSlowCall) || b.State() != StateOpen {
		t.Fatalf("state %v after a second failure in a row through Record, want open", b.State())
	}
	if b.Record(ErrSlowCall) {
		t.Fatal("Record while open was counted")
	}

	passOpenTime(t, b)
	tk, err := b.Allow()
	if err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	if !tk.Probe() {
		t.Fatal("a half-open admission is not a probe")
	}
	// Half-open, the probes alone decide: neither a recorded failure nor a
	// recorded success moves the breaker.
	if b.Record(errReset) || b.Record(nil) || b.State() != StateHalfOpen {
		t.Fatalf("Record while half-open was counted; state %v", b.State())
	}
	b.Done(tk, nil)
	for b.State() == StateHalfOpen {
		if err := call(t, b, nil); err != nil {
			t.Fatalf("probe refused: %v", err)
		}
	}
	if tk, _ := b.Allow(); tk.Probe() {
		t.Fatal("a closed admission is a probe")
	}
	if got, want := tr.String(), "[closed→open open→half-open half-open→closed]"; got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
}
