package redistest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind, which is
// how the harness proves that servers, proxies and clients are torn down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
