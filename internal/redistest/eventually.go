package redistest

import (
	"testing"
	"time"
)

// Eventually polls cond every 10 ms until it holds, and fails the test with
// what when it still does not after timeout: for faults whose effect arrives a
// moment after they are injected.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
