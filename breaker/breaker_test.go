package breaker

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
)

var errReset error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// The package's own types carry the state machine's values one for one.
func TestTheWrapperCarriesStatesCountsAndChanges(t *testing.T) {
	var changes []string
	b, err := New(Settings{ConsecutiveFailures: 2, OpenTimeout: time.Hour,
		OnStateChange: func(from, to State) { changes = append(changes, from.String()+"→"+to.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, outcome := range []error{nil, errReset, errReset} {
		tk, err := b.Allow()
		if err != nil {
			t.Fatalf("refused while closed: %v", err)
		}
		if outcome != nil {
			if got := b.Counts(); got.TotalSuccesses != 1 {
				t.Fatalf("counts %+v before the failures, want one success", got)
			}
		}
		b.Done(tk, outcome)
	}
	if b.State() != StateOpen || len(changes) != 1 || changes[0] != "closed→open" {
		t.Fatalf("state %v, changes %v: want open, closed→open", b.State(), changes)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("Allow while open: %v, want ErrOpen", err)
	}
	if got := b.Counts(); got != (Counts{}) {
		t.Fatalf("counts while open %+v, want zero", got)
	}
	for _, s := range []State{StateClosed, StateHalfOpen, StateOpen} {
		if State(circuit.State(s)).String() != circuit.State(s).String() {
			t.Errorf("state %d is %v here and %v in the state machine", s, s, circuit.State(s))
		}
	}
}

func TestNewReportsEveryInvalidField(t *testing.T) {
	_, err := New(Settings{FailureRatio: 2, Window: -1, MinOpenTimeout: DefaultOpenTimeout + 1, SlowCallThreshold: -1})
	var fields []string
	for _, e := range unjoin(err) {
		var se *SettingsError
		if !errors.As(e, &se) {
			t.Fatalf("%v is no SettingsError", e)
		}
		fields = append(fields, se.Field)
	}
	if len(fields) != 4 || fields[0] != "FailureRatio" || fields[3] != "SlowCallThreshold" {
		t.Fatalf("invalid fields %v (%v)", fields, err)
	}
}

// The defaults the package documents are the ones the state machine applies.
func TestDefaultsAreTheStateMachines(t *testing.T) {
	if DefaultName != circuit.DefaultName || DefaultConsecutiveFailures != circuit.DefaultConsecutiveFailures ||
		DefaultFailureRatio != circuit.DefaultFailureRatio || DefaultMinRequests != circuit.DefaultMinRequests ||
		DefaultWindow != circuit.DefaultWindow || DefaultOpenTimeout != circuit.DefaultOpenTimeout ||
		DefaultMinOpenTimeout != circuit.DefaultMinOpenTimeout || DefaultHalfOpenRequests != circuit.DefaultHalfOpenRequests ||
		DefaultSlowCallThreshold != circuit.DefaultSlowCallThreshold {
		t.Fatal("a default differs from the state machine's")
	}
}
