package admission

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// A use of the network takes a free slot and gives it back; with none free it
// is refused; a Give with no Take gives back nothing.
func TestNetworkSlotsTakeAndGive(t *testing.T) {
	t.Parallel()
	q := New(1)
	s := NewNetworkSlots(q)
	if s.Give() || q.Len() != 0 {
		t.Fatalf("a Give with no Take gave back a slot: Len %d", q.Len())
	}
	if !s.Take() || q.Len() != 1 {
		t.Fatalf("Take on an empty queue: Len %d, want 1", q.Len())
	}
	if s.Take() {
		t.Fatal("a second Take on a full queue went through")
	}
	if !s.Give() || q.Len() != 0 {
		t.Fatalf("Give: Len %d, want 0", q.Len())
	}
}

// A command holding the only slot lends it to its use of the network, which
// takes it instead of a free one; the command then gives back one slot fewer.
// A slot no Take used is reclaimed.
func TestNetworkSlotsLend(t *testing.T) {
	t.Parallel()
	q := New(1)
	s := NewNetworkSlots(q)
	if !q.TakeOne() {
		t.Fatal("TakeOne on an empty queue was refused")
	}
	s.Lend()
	if !s.Take() {
		t.Fatal("the use of the network of the command holding the only slot was refused")
	}
	if q.Len() != 1 {
		t.Fatalf("Len %d while the lent slot is in use, want 1", q.Len())
	}
	if !s.Give() || q.Len() != 0 {
		t.Fatalf("Give of the lent slot: Len %d, want 0", q.Len())
	}
	if s.Reclaim() {
		t.Fatal("reclaimed a slot a Take used")
	}
	// The command gives back nothing more: its slot went back with the Give.

	q.TakeOne()
	s.Lend()
	if !s.Reclaim() {
		t.Fatal("a slot no Take used was not reclaimed")
	}
	q.ReleaseOne()
	if q.Len() != 0 {
		t.Fatalf("Len %d after the command gave its slot back, want 0", q.Len())
	}
}

// A connection's set-up passes without a slot, even with the queue full; a
// pass no Take used is withdrawn.
func TestNetworkSlotsPass(t *testing.T) {
	t.Parallel()
	q := New(1)
	s := NewNetworkSlots(q)
	if !s.Take() {
		t.Fatal("Take on an empty queue was refused")
	}
	s.Pass()
	if !s.Take() || q.Len() != 1 {
		t.Fatalf("a set-up's Take with the queue full: Len %d, want it through without a slot", q.Len())
	}
	if s.Give() {
		t.Fatal("the set-up's Give gave back a slot it did not take")
	}
	s.EndPass()
	if !s.Give() || q.Len() != 0 {
		t.Fatalf("the first Take's Give: Len %d, want 0", q.Len())
	}
	s.Pass()
	s.EndPass()
	if !s.Take() || q.Len() != 1 {
		t.Fatalf("a Take after a withdrawn pass: Len %d, want it to take a slot", q.Len())
	}
	s.Give()
}

// Uses of the network, commands that lend their slots and set-ups that pass,
// all at once: the queue never holds more than its limit, and once they are
// done every slot is back.
func TestNetworkSlotsBalanceUnderConcurrency(t *testing.T) {
	t.Parallel()
	const limit = 4
	q := New(limit)
	s := NewNetworkSlots(q)
	var over atomic.Int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := q.Len(); n > limit {
				over.Store(n)
			}
		}
	})
	use := func() {
		if s.Take() {
			s.Give()
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20000 {
				switch r.IntN(3) {
				case 0: // a command served at once
					use()
				case 1: // a command that holds a slot and lends it
					ok := q.TakeOne()
					if !ok {
						continue
					}
					s.Lend()
					if r.IntN(2) == 0 {
						use()
					}
					if s.Reclaim() {
						q.ReleaseOne()
					}
				case 2: // a set-up
					s.Pass()
					use()
					s.EndPass()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if n := over.Load(); n != 0 {
		t.Fatalf("Len %d, over the limit %d", n, limit)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len %d once every command returned, want 0", n)
	}
	if s.held.Load() != 0 || s.passed.Load() != 0 || s.lent.Load() != 0 || s.passes.Load() != 0 {
		t.Fatalf("counts left: held %d passed %d lent %d passes %d", s.held.Load(), s.passed.Load(), s.lent.Load(), s.passes.Load())
	}
}
