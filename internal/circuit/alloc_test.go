package circuit

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestClosedAndOpenPathsAllocateNothing(t *testing.T) {
	// Rules that never trip, so that failures stay on the closed path too.
	b := mustNew(t, Settings{ConsecutiveFailures: math.MaxUint32, MinRequests: math.MaxUint32})
	for _, outcome := range []error{nil, redis.Nil, context.Canceled, errReset, ErrSlowCall} {
		allocs := testing.AllocsPerRun(1000, func() {
			tk, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			b.Done(tk, outcome)
		})
		if allocs != 0 {
			t.Errorf("Allow+Done(%v) while closed: %v allocations, want 0", outcome, allocs)
		}
		if allocs := testing.AllocsPerRun(1000, func() { b.Record(outcome) }); allocs != 0 {
			t.Errorf("Record(%v) while closed: %v allocations, want 0", outcome, allocs)
		}
	}
	var tally Tally
	b.RecordSuccess(&tally) // the first success in a phase attaches the tally
	if allocs := testing.AllocsPerRun(1000, func() { b.RecordSuccess(&tally) }); allocs != 0 {
		t.Errorf("RecordSuccess while closed: %v allocations, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(1000, func() { tally.Success() }); allocs != 0 {
		t.Errorf("Tally.Success while closed: %v allocations, want 0", allocs)
	}
	if b.State() != StateClosed {
		t.Fatalf("state %v", b.State())
	}

	open := mustNew(t, Settings{ConsecutiveFailures: 1})
	_ = call(t, open, errReset)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := open.Allow(); !errors.Is(err, ErrOpen) {
			t.Fatalf("Allow while open: %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("a refused Allow while open: %v allocations, want 0", allocs)
	}
}
