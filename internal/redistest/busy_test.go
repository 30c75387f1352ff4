package redistest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Not parallel: the goroutines it counts and the CPU it measures are the
// whole process's.
func TestBusyCoresSpinsUntilStopped(t *testing.T) {
	before := goleak.IgnoreCurrent()
	const window = 500 * time.Millisecond
	cpu := cpuTime(t)
	stop := BusyCores(t)
	time.Sleep(window)
	spent := cpuTime(t) - cpu
	if goleak.Find(before) == nil {
		t.Fatal("BusyCores started no goroutine")
	}
	// Spinning goroutines take far more than this, even on a shared host;
	// idle ones take next to nothing.
	if spent < window/20 {
		t.Fatalf("the process spent %v of CPU in %v with every core busy", spent, window)
	}
	stop()
	stop()
	if err := goleak.Find(before); err != nil {
		t.Fatalf("goroutines left after stop: %v", err)
	}
	t.Logf("%v of CPU in %v with every core busy", spent.Round(time.Millisecond), window)
}

func TestBusyCoresStopsWhenTheTestEnds(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("busy", func(t *testing.T) {
		BusyCores(t)
	})
	if err := goleak.Find(before); err != nil {
		t.Fatalf("goroutines left after the test that started them: %v", err)
	}
}
