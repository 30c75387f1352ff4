package redistest

import (
	"syscall"
	"testing"
	"time"
)

// ReportCPUPerOp runs fn, the measured part of a benchmark, and reports the CPU
// time this process spent in it (user and system, not the redis-server's) per
// iteration as "cpu-ns/op". On a shared machine wall time per operation swings
// with the neighbours' load; the CPU a client spends on each command does far
// less, so this is the figure that shows what a layer over go-redis costs.
func ReportCPUPerOp(b *testing.B, fn func()) {
	b.Helper()
	before := cpuTime(b)
	fn()
	spent := cpuTime(b) - before
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time this process has spent so far, user and
// system.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("redistest: getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
