package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// deletes records the second invalidations and when they came.
type deletes struct {
	mu  sync.Mutex
	ids []string
	at  []time.Time
}

func (d *deletes) del(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, id)
	d.at = append(d.at, time.Now())
	return nil
}

func (d *deletes) snapshot() ([]string, []time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ids...), append([]time.Time(nil), d.at...)
}

func TestSettleInvalidatesOnceAfterTheLastWrite(t *testing.T) {
	var d deletes
	const after = 100 * time.Millisecond
	s := newSettle(after, d.del, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer s.close()
	s.written("1")
	time.Sleep(after / 2)
	last := time.Now()
	s.written("1") // postpones
	s.written("2")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ids, _ := d.snapshot(); len(ids) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * after) // nothing more comes
	ids, at := d.snapshot()
	if len(ids) != 2 {
		t.Fatalf("second invalidations %v, want one for each of 1 and 2", ids)
	}
	for i, id := range ids {
		if at[i].Sub(last) < after {
			t.Errorf("product %s invalidated %v after its last write, before %v", id, at[i].Sub(last), after)
		}
	}
}

func TestSettleCloseDropsWhatIsNotDue(t *testing.T) {
	var d deletes
	s := newSettle(50*time.Millisecond, d.del, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.written("1")
	s.close()
	s.written("2") // after close: ignored
	time.Sleep(150 * time.Millisecond)
	if ids, _ := d.snapshot(); len(ids) != 0 {
		t.Fatalf("invalidations after close: %v", ids)
	}
}
