// Package stripe is a counter that many goroutines add to at once without
// writing memory that another core writes: each adds to the stripe of the
// processor (the runtime's P) it runs on, and a read sums the stripes.
//
// It counts events on paths that must not contend across cores (a hit of
// the cache's near tier, and its Prometheus count). An Add is one
// uncontended atomic add on a pair of cache lines that only the goroutines
// of one P write; Load reads every stripe and is meant for scrapes and
// Stats, not for hot paths.
package stripe

import (
	"sync/atomic"
	_ "unsafe" // go:linkname
)

// stripes is the number of counters: one per P up to 64 Ps, and Ps beyond
// share them (an Add stays exact; two cores may then write one stripe).
const stripes = 64

// Counter is a striped count. The zero Counter is ready to use; it must not
// be copied after first use.
type Counter struct {
	c [stripes]padded
}

// padded fills two cache lines: some processors fetch lines in pairs, and a
// write to one line of a pair would slow a reader of the other.
type padded struct {
	atomic.Uint64
	_ [120]byte
}

// procPin and procUnpin are the runtime's, as sync.Pool uses them: procPin
// returns the id of the P the goroutine runs on and keeps it there until
// procUnpin. The runtime keeps them for packages outside the standard
// library (go.dev/issue/67401).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// P returns the id of the P the calling goroutine runs on, as a hint: the
// goroutine may move to another one at once.
func P() int {
	id := procPin()
	procUnpin()
	return id
}

// Add counts one.
func (s *Counter) Add() {
	s.c[procPin()&(stripes-1)].Add(1)
	procUnpin()
}

// Load returns the sum of the stripes: every Add that happened before it,
// and any number of those concurrent with it.
func (s *Counter) Load() uint64 {
	var n uint64
	for i := range s.c {
		n += s.c[i].Load()
	}
	return n
}
