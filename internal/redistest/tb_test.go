package redistest

import (
	"fmt"
	"runtime"
	"testing"
)

// giveUpRecorder stands in for a testing.TB to observe how harness code
// gives up on a test. Like the real methods, Skipf and Fatalf end the
// calling goroutine; everything else goes to the real test.
type giveUpRecorder struct {
	testing.TB
	skipped, failed string
}

func (r *giveUpRecorder) Helper() {}

func (r *giveUpRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *giveUpRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// recordGiveUp runs f with a recorder in a goroutine of its own, as the
// recorder's Goexit requires, and fails t if f returns without giving up.
func recordGiveUp(t *testing.T, f func(testing.TB)) *giveUpRecorder {
	t.Helper()
	r := &giveUpRecorder{TB: t}
	gaveUp := true
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
		gaveUp = false
	}()
	<-done
	if !gaveUp {
		t.Fatal("returned normally; want a skip or failure")
	}
	return r
}
