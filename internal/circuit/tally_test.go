package circuit

import (
	"sync"
	"testing"
	"time"
)

func TestTalliedSuccessesCountInTheRatio(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 100, MinRequests: 10, FailureRatio: 0.5})
	tallies := make([]Tally, 3)
	for i := range 12 {
		if !b.RecordSuccess(&tallies[i%3]) {
			t.Fatal("RecordSuccess while closed was not counted")
		}
	}
	if c := b.Counts(); c.TotalSuccesses != 12 || c.Requests != 12 {
		t.Fatalf("counts %+v after 12 tallied successes", c)
	}
	// 11 failures of 23: under the ratio, counting the tallies' successes;
	// over it without them.
	for range 11 {
		_ = call(t, b, errReset)
	}
	if b.State() != StateClosed {
		t.Fatalf("state %v, counts %+v: the tallies' successes were not counted", b.State(), b.Counts())
	}
	_ = call(t, b, errReset) // 12 of 24
	if b.State() != StateOpen {
		t.Fatalf("state %v, counts %+v: want open at half failures", b.State(), b.Counts())
	}
	if b.RecordSuccess(&tallies[0]) {
		t.Fatal("RecordSuccess while open was counted")
	}
}

func TestATalliedSuccessEndsTheRun(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 2})
	var tally Tally
	_ = call(t, b, errReset)
	b.RecordSuccess(&tally)
	_ = call(t, b, errReset)
	if b.State() != StateClosed {
		t.Fatalf("state %v: a tallied success did not end the run", b.State())
	}
	tally.Success() // attached: it counts without the breaker
	_ = call(t, b, errReset)
	if b.State() != StateClosed {
		t.Fatalf("state %v: a success counted by Success did not end the run", b.State())
	}
}

func TestTallyKeepsItsCountsWhenClosedAndAcrossBuckets(t *testing.T) {
	b := mustNew(t, Settings{Window: time.Hour})
	var a, c Tally
	for range 5 {
		b.RecordSuccess(&a)
	}
	b.RecordSuccess(&c)
	a.Close() // its successes stay in the window
	if got := b.Counts().TotalSuccesses; got != 6 {
		t.Fatalf("%d successes after a tally closed, want 6", got)
	}
	if b.RecordSuccess(&a); b.Counts().TotalSuccesses != 6 {
		t.Fatalf("a closed tally counted: %+v", b.Counts())
	}

	// A tally that counted 7 three buckets ago moves them to the window
	// with its next success.
	w := b.phase.Load().window
	now := w.recentBucket()
	var d Tally
	b.RecordSuccess(&d)                 // attaches it
	d.cell.Store(uint64(now-3)<<32 | 7) // in place of that success
	b.RecordSuccess(&d)
	if got := b.Counts().TotalSuccesses; got != 6+7+1 {
		t.Fatalf("%d successes after the tally moved on a bucket, want 14", got)
	}
	// Successes older than the window are forgotten when they move.
	d.cell.Store(uint64(now-windowBuckets)<<32 | 9) // in place of the last one
	b.RecordSuccess(&d)
	if got := b.Counts().TotalSuccesses; got != 6+7+1 {
		t.Fatalf("%d successes: successes older than the window were counted, want 14", got)
	}
}

func TestTallyStartsAfreshInANewClosedPhase(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond})
	var tally Tally
	for range 5 {
		b.RecordSuccess(&tally)
	}
	openThenClose(t, b)
	b.RecordSuccess(&tally)
	if c := b.Counts(); c.TotalSuccesses != 1 {
		t.Fatalf("counts %+v in the new closed phase, want the one success since", c)
	}
}

// Success counts, without the breaker, only in a tally that RecordSuccess
// attached to a closed phase still on: not before, not once the phase
// ended (the breaker opened), not once another breaker replaced it.
func TestSuccessCountsOnlyInAClosedPhaseStillOn(t *testing.T) {
	b := mustNew(t, Settings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond})
	var tally Tally
	if tally.Success() {
		t.Fatal("Success counted in a tally RecordSuccess never attached")
	}
	b.RecordSuccess(&tally)
	for range 4 {
		if !tally.Success() {
			t.Fatal("Success refused in a closed phase")
		}
	}
	if c := b.Counts(); c.TotalSuccesses != 5 {
		t.Fatalf("counts %+v, want 5 successes", c)
	}
	_ = call(t, b, errReset)
	if b.State() != StateOpen {
		t.Fatalf("state %v after a failure, want open", b.State())
	}
	if tally.Success() {
		t.Fatal("Success counted after the closed phase ended")
	}
	openThenClose(t, b)
	if tally.Success() {
		t.Fatal("Success counted in a new closed phase before RecordSuccess attached the tally")
	}
	b.RecordSuccess(&tally)
	if !tally.Success() {
		t.Fatal("Success refused after RecordSuccess attached the tally to the new closed phase")
	}
	if c := b.Counts(); c.TotalSuccesses != 2 {
		t.Fatalf("counts %+v in the new closed phase, want 2 successes", c)
	}

	next := mustNew(t, Settings{})
	b.Retire()
	if tally.Success() {
		t.Fatal("Success counted in a retired breaker")
	}
	if !next.RecordSuccess(&tally) || !tally.Success() || next.Counts().TotalSuccesses != 2 {
		t.Fatalf("the tally does not count in the breaker that replaced the retired one: %+v", next.Counts())
	}
	openThenClose(t, b)
	if b.RecordSuccess(&tally); tally.Success() {
		t.Fatal("a retired breaker's new closed phase took a tally's successes")
	}
}

func TestTalliesConcurrently(t *testing.T) {
	b := mustNew(t, Settings{Window: time.Hour})
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var tally Tally
			defer tally.Close()
			for range each {
				b.RecordSuccess(&tally)
			}
		})
		wg.Go(func() { _ = b.Counts() })
	}
	wg.Wait()
	if got := b.Counts().TotalSuccesses; got != goroutines*each {
		t.Fatalf("%d successes, want %d", got, goroutines*each)
	}
}

// A tally closed while its first success attaches it is never left in the
// window's set (its connection is gone; the set would keep it for as long as
// the closed phase lasts).
func TestTallyClosedWhileAttachingLeavesNoTrace(t *testing.T) {
	b := mustNew(t, Settings{Window: time.Hour})
	for range 2000 {
		var tally Tally
		var wg sync.WaitGroup
		wg.Go(func() { b.RecordSuccess(&tally) })
		wg.Go(tally.Close)
		wg.Wait()
	}
	ts := &b.phase.Load().window.tallies
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if n := len(ts.set); n != 0 {
		t.Fatalf("%d closed tallies still in the window's set", n)
	}
}
