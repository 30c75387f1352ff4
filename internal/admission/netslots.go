package admission

import "sync/atomic"

// NetworkSlots keeps a Queue's count for a client that answers some commands
// from memory (go-redis's client-side cache): such a command takes no slot
// before it runs, and each use of the network takes one where go-redis asks
// its Limiter for a connection (Take), and gives it back when go-redis
// reports the result (Give). go-redis's Limiter calls carry no command, so
// what a Take takes is decided by counts, not by who asks:
//
//   - A command that holds slots of the Queue (one that waited in the guard,
//     or a pipeline) lends one to its own use of the network (Lend) and takes
//     it back afterwards if no Take used it (Reclaim): a Take uses a lent slot
//     before a free one, so the command needs no slot more than it holds.
//   - The commands that set a new connection up belong to the command that
//     needed the connection, which holds its slot already: Pass lets one Take
//     through without a slot, EndPass withdraws it if no Take used it.
//
// Lent slots and passes are interchangeable between commands: when another
// command's Take uses one, its owner's Take takes a free slot instead (or is
// refused when there is none). The counts balance all the same: every slot
// taken is given back once, whoever gives it, and the Queue's limit holds.
type NetworkSlots struct {
	q *Queue
	// held: slots Takes took (lent or free) and Gives have yet to give back;
	// passed: Takes let through on a pass, likewise.
	held, passed atomic.Int64
	lent, passes atomic.Int64
}

// NewNetworkSlots returns the network's slots of q.
func NewNetworkSlots(q *Queue) *NetworkSlots { return &NetworkSlots{q: q} }

// Take takes what a use of the network needs: a pass, a lent slot or a free
// slot, in that order. False: none was left, the use is refused.
func (s *NetworkSlots) Take() bool {
	switch {
	case decrement(&s.passes):
		s.passed.Add(1)
	case decrement(&s.lent):
		s.held.Add(1)
	default:
		if !s.q.TakeOne() {
			return false
		}
		s.held.Add(1)
	}
	return true
}

// Give gives back what a Take took, and reports whether a slot went back to
// the Queue. A Give with no Take before it gives back nothing.
func (s *NetworkSlots) Give() bool {
	if decrement(&s.passed) {
		return false
	}
	if decrement(&s.held) {
		s.q.ReleaseOne()
		return true
	}
	return false
}

// Lend lends one slot the caller holds to its next Take.
func (s *NetworkSlots) Lend() { s.lent.Add(1) }

// Reclaim takes back a lent slot no Take used, and reports whether there was
// one: the caller then gives back all it holds; otherwise one slot fewer,
// which a Take used and its Give gives back.
func (s *NetworkSlots) Reclaim() bool { return decrement(&s.lent) }

// Pass lets the next Take through without a slot.
func (s *NetworkSlots) Pass() { s.passes.Add(1) }

// EndPass withdraws a pass no Take used.
func (s *NetworkSlots) EndPass() { decrement(&s.passes) }

// decrement decrements a positive count and reports whether it did.
func decrement(count *atomic.Int64) bool {
	for {
		v := count.Load()
		if v <= 0 {
			return false
		}
		if count.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
