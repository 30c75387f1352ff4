package stripe

import (
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// Adds from many goroutines at once are all counted.
func TestCounterCountsEveryAdd(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add()
			}
		}()
	}
	wg.Wait()
	if got := c.Load(); got != 32*1000 {
		t.Fatalf("Load() = %d, want %d", got, 32*1000)
	}
}

// Goroutines on different Ps add to different stripes: as many stripes are
// used as Ps ran them (at least one, at most GOMAXPROCS).
func TestCounterStripesByProcessor(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add()
			}
		}()
	}
	wg.Wait()
	used := 0
	for i := range c.c {
		if c.c[i].Load() > 0 {
			used++
		}
	}
	if used < 1 || used > min(runtime.GOMAXPROCS(0), stripes) {
		t.Fatalf("%d stripes used with GOMAXPROCS %d", used, runtime.GOMAXPROCS(0))
	}
}

// Each stripe has two cache lines of its own.
func TestStripeSize(t *testing.T) {
	if s := unsafe.Sizeof(padded{}); s != 128 {
		t.Fatalf("a stripe is %d bytes, want 128", s)
	}
}

// Add allocates nothing.
func TestAddAllocatesNothing(t *testing.T) {
	var c Counter
	if n := testing.AllocsPerRun(100, c.Add); n != 0 {
		t.Fatalf("Add allocates %v times", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	var c Counter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add()
		}
	})
}
