package redisguard

import (
	"errors"
	"testing"
	"time"
)

func TestExponentialBackoffSchedule(t *testing.T) {
	b := ExponentialBackoff{Base: 100 * time.Millisecond, Max: 3 * time.Second, MaxRetries: 10}
	want := []time.Duration{100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000, 3000}
	for i, w := range want {
		got, err := b.NextDelay(i+1, nil)
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if got != w*time.Millisecond {
			t.Errorf("attempt %d: delay %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if _, err := b.NextDelay(11, errors.New("refused")); !errors.Is(err, ErrMaxRetriesReached) {
		t.Fatalf("attempt 11: err %v, want ErrMaxRetriesReached", err)
	}
}

func TestExponentialBackoffJitterStaysWithinBounds(t *testing.T) {
	b := DefaultBackoff()
	exact := ExponentialBackoff{Base: b.Base, Max: b.Max, MaxRetries: b.MaxRetries}
	for attempt := 1; attempt <= 10; attempt++ {
		d, _ := exact.NextDelay(attempt, nil)
		lo, hi := time.Duration(0.9*float64(d)), time.Duration(1.1*float64(d))
		seen := map[time.Duration]bool{}
		for range 200 {
			got, err := b.NextDelay(attempt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got < lo || got > hi {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, got, lo, hi)
			}
			seen[got] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays in 200 draws: no jitter?", attempt, len(seen))
		}
	}
}

func TestExponentialBackoffZeroFieldsAreDefaults(t *testing.T) {
	var b ExponentialBackoff
	if d, err := b.NextDelay(1, nil); err != nil || d != 100*time.Millisecond {
		t.Fatalf("attempt 1: %v, %v", d, err)
	}
	if d, err := b.NextDelay(10, nil); err != nil || d != 3*time.Second {
		t.Fatalf("attempt 10: %v, %v", d, err)
	}
	if _, err := b.NextDelay(11, nil); !errors.Is(err, ErrMaxRetriesReached) {
		t.Fatalf("attempt 11: %v", err)
	}
}

func TestExponentialBackoffNeverGivesUp(t *testing.T) {
	b := ExponentialBackoff{MaxRetries: -1}
	for _, attempt := range []int{11, 64, 1 << 20} {
		d, err := b.NextDelay(attempt, nil)
		if err != nil || d != 3*time.Second {
			t.Fatalf("attempt %d: %v, %v", attempt, d, err)
		}
	}
}

func TestReconnectFuncIsAStrategy(t *testing.T) {
	var s ReconnectStrategy = ReconnectFunc(func(attempt int, cause error) (time.Duration, error) {
		return time.Duration(attempt) * time.Second, cause
	})
	cause := errors.New("x")
	if d, err := s.NextDelay(2, cause); d != 2*time.Second || err != cause {
		t.Fatalf("got %v, %v", d, err)
	}
}
