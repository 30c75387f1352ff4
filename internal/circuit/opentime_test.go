package circuit

import (
	"errors"
	"testing"
	"time"
)

// openFor returns how long b, open, still refuses every call.
func openFor(b *Breaker) time.Duration { return b.untilProbes(b.phase.Load()) }

// passOpenTime moves b's clock past its open time instead of sleeping
// through it, as gobreaker's tests move its expiry: the clock then stands
// still where it was moved to, until the next move. Only for a breaker that
// one goroutine uses.
func passOpenTime(t *testing.T, b *Breaker) {
	t.Helper()
	at := max(b.since(), time.Duration(b.phase.Load().probesAt.Load()))
	b.clock = func() time.Duration { return at }
	if b.State() != StateHalfOpen {
		t.Fatalf("state %v after the open time, want half-open", b.State())
	}
}

func TestOpenTimeStartsShortAndDoublesWhileProbesFail(t *testing.T) {
	const minOpen, maxOpen = 20 * time.Millisecond, 70 * time.Millisecond
	b := mustNew(t, Settings{ConsecutiveFailures: 1, MinOpenTimeout: minOpen, OpenTimeout: maxOpen})
	_ = call(t, b, errReset)
	for i, want := range []time.Duration{minOpen, 2 * minOpen, maxOpen, maxOpen} {
		if b.State() != StateOpen {
			t.Fatalf("opening %d: state %v", i+1, b.State())
		}
		if got := openFor(b); got > want || got < want-10*time.Millisecond {
			t.Fatalf("opening %d: open for %v, want %v", i+1, got, want)
		}
		passOpenTime(t, b)
		_ = call(t, b, errReset) // the probe fails: open again, for longer
	}
	passOpenTime(t, b)
	for b.State() == StateHalfOpen {
		_ = call(t, b, nil)
	}
	_ = call(t, b, errReset) // closed, then open again: the short time again
	if got := openFor(b); b.State() != StateOpen || got > minOpen {
		t.Fatalf("open after closing: state %v for %v, want open for at most %v", b.State(), got, minOpen)
	}
}

func TestDefaultOpenTime(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		want time.Duration
	}{
		{Settings{}, DefaultMinOpenTimeout},
		{Settings{OpenTimeout: time.Hour}, time.Hour}, // a fixed open time, as set
		{Settings{OpenTimeout: time.Hour, MinOpenTimeout: time.Second}, time.Second},
		{Settings{MinOpenTimeout: time.Second}, time.Second},
	} {
		c.s.ConsecutiveFailures = 1
		b := mustNew(t, c.s)
		_ = call(t, b, errReset)
		if got := openFor(b); got > c.want || got < c.want-time.Second/2 && c.want > time.Second {
			t.Errorf("%+v: open for %v, want %v", c.s, got, c.want)
		}
	}
}

func TestServerAnsweredEndsTheOpenTime(t *testing.T) {
	tr := &transitions{}
	b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: time.Hour, OnStateChange: tr.record})
	b.ServerAnswered() // closed: nothing
	if b.State() != StateClosed {
		t.Fatalf("state %v", b.State())
	}
	_ = call(t, b, errReset)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("open: %v", err)
	}
	b.ServerAnswered()
	if b.State() != StateHalfOpen {
		t.Fatalf("state %v after the server answered, want half-open", b.State())
	}
	probe, err := b.Allow()
	if err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	b.ServerAnswered() // half-open: the probes judge
	b.Done(probe, errReset)
	if got := openFor(b); b.State() != StateOpen || got < time.Hour-time.Minute {
		t.Fatalf("a failed probe: state %v for %v, want open for an hour", b.State(), got)
	}
	b.ServerAnswered()
	for b.State() == StateHalfOpen {
		_ = call(t, b, nil)
	}
	if b.State() != StateClosed {
		t.Fatalf("state %v after the probes succeeded", b.State())
	}
	if got := tr.String(); got != "[closed→open open→half-open half-open→open open→half-open half-open→closed]" {
		t.Fatalf("transitions %s", got)
	}
}

func TestAProbeOfAnEarlierHalfOpenDoesNotEndTheOpenTime(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: time.Hour})
	_ = call(t, b, errReset)
	b.ServerAnswered()
	failing, _ := b.Allow()
	late, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	b.Done(failing, errReset)
	b.Done(late, nil) // gobreaker asked now would let probes through
	_ = b.Counts()
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) || b.State() != StateOpen {
		t.Fatalf("state %v, Allow %v: want open", b.State(), err)
	}
}

func TestMinOpenTimeoutIsValidated(t *testing.T) {
	for _, s := range []Settings{
		{MinOpenTimeout: -time.Second},
		{MinOpenTimeout: 2 * time.Second, OpenTimeout: time.Second},
		{MinOpenTimeout: DefaultOpenTimeout + 1},
	} {
		var se *SettingsError
		if _, err := New(s); !errors.As(err, &se) || se.Field != "MinOpenTimeout" {
			t.Errorf("%+v: %v", s, err)
		}
	}
}
