package redistest

import (
	"runtime"
	"sync"
	"testing"
)

// BusyCores keeps every core busy, as a loaded host does, so that a test
// can check that the client judges the server and not the scheduling of
// its own goroutines. It starts GOMAXPROCS goroutines that spin until stop
// is called or the test ends (t.Cleanup), whichever comes first; stop
// returns once they have all returned and may be called more than once.
func BusyCores(t testing.TB) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var spinners sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		spinners.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				// A stretch of work between looks at done, so that the
				// goroutine spends its time computing, not in select.
				for i := 0; i < 1e5; i++ {
					_ = i * i
				}
			}
		})
	}
	stop = sync.OnceFunc(func() {
		close(done)
		spinners.Wait()
	})
	t.Cleanup(stop)
	return stop
}
