// Package admission decides what may start: commands, against the queue
// limit of a redisguard.Client (Queue: the count of the commands in flight
// plus those waiting, against Options.QueueLimit; NetworkSlots: the same
// count kept where go-redis asks for a connection, for a client that answers
// some commands from memory), and new connections of a node (DialGate).
//
// Contract of the Queue: a Queue of limit L never holds more than L slots at once, however
// many goroutines take and release; TakeOne and Take refuse (or take fewer)
// only when every stripe was full as they looked; each slot taken is given
// back exactly once: by ReleaseOne after TakeOne, or by Release with the Hold
// Take returned (a slot ReleaseOne gives back may go to another stripe than
// its own: the limit still holds). Taking and releasing one slot takes no
// lock and allocates nothing.
//
// Contract of the DialGate: PoolSize dials go through at once, then one per
// 1/rate s, plus one for every Refund (a dial that failed, a connection
// closed cleanly), which a dial waiting for the rate takes at once. After Busy (the server refused a connection for max
// clients) no dial goes through for a pause that doubles with each Busy,
// from 100 ms to 3 s; after it one dial tries alone until Accepted (or a
// Refund, or a second), and a dial whose pool idles tries early. Take waits
// within its context, and fails with ErrDialPaused when that ends during a
// pause, or with the client's closed error when the client closes.
package admission

import (
	"sync/atomic"

	"github.com/redisguard/redisguard/internal/stripe"
)

// maxStripes bounds how many counters the queue limit is spread over.
const maxStripes = 8

// Queue counts the commands in flight plus those waiting against a limit.
// The count is striped over a few counters, each on its own cache line and holding its share of the limit, so that admitting a command
// does not make every core write the same word: a command takes a slot from
// its processor's stripe (see homeStripe), and from the others when that one
// is full. Their shares add up to the limit, which is therefore never
// exceeded, and a command is refused only when every stripe was full as it
// looked.
type Queue struct {
	stripes []queueStripe
}

type queueStripe struct {
	n     atomic.Int64
	limit int64
	_     [48]byte // a cache line of its own
}

// Hold is the queue slots a command or a pipeline took, by stripe.
type Hold [maxStripes]int32

// New returns a queue of limit slots (limit ≥ 1).
func New(limit int64) *Queue {
	q := &Queue{stripes: make([]queueStripe, min(limit, maxStripes))}
	for i := range q.stripes {
		share := limit / int64(len(q.stripes))
		if int64(i) < limit%int64(len(q.stripes)) {
			share++
		}
		q.stripes[i].limit = share
	}
	return q
}

// TakeOne takes a slot for one command, and reports whether there was one.
func (q *Queue) TakeOne() bool {
	i := homeStripe(len(q.stripes))
	for range q.stripes {
		s := &q.stripes[i]
		if s.n.Add(1) <= s.limit {
			return true
		}
		s.n.Add(-1)
		if i++; i == len(q.stripes) {
			i = 0
		}
	}
	return false
}

// homeStripe picks one of n stripes for the calling goroutine: that of the P
// it runs on. A slot is taken there and given back to the stripe of the P
// its holder runs on then, so that both writes mostly go to a cache line
// that only one core writes; the slots a core gives back are the ones its
// next commands take.
func homeStripe(n int) int { return stripe.P() % n }

// ReleaseOne gives back one slot TakeOne took. It goes to the caller's home
// stripe, which may not be the one it came from. The limit holds all the
// same: the stripes' counts still add up to the slots held, and a count only
// rises by a take that keeps it within its share (one given back elsewhere
// may leave it below zero).
func (q *Queue) ReleaseOne() { q.stripes[homeStripe(len(q.stripes))].n.Add(-1) }

// Take takes as many of want slots as are free, up to want.
func (q *Queue) Take(want int64) (h Hold, took int64) {
	start := homeStripe(len(q.stripes))
	for i := 0; i < len(q.stripes) && took < want; i++ {
		stripe := (start + i) % len(q.stripes)
		s := &q.stripes[stripe]
		for {
			cur := s.n.Load()
			free := s.limit - cur
			if free <= 0 {
				break
			}
			k := min(free, want-took)
			if s.n.CompareAndSwap(cur, cur+k) {
				h[stripe] += int32(k)
				took += k
				break
			}
		}
	}
	return h, took
}

// Forget returns h without up to n of its slots, which the caller has
// handed on to another holder, who gives them back.
func (q *Queue) Forget(h Hold, n int64) Hold {
	for stripe := range q.stripes {
		k := min(int64(h[stripe]), n)
		h[stripe] -= int32(k)
		n -= k
	}
	return h
}

// Release gives back up to n of the slots h holds, and returns what remains.
func (q *Queue) Release(h Hold, n int64) Hold {
	for stripe := range q.stripes {
		if n == 0 {
			break
		}
		k := min(int64(h[stripe]), n)
		if k > 0 {
			q.stripes[stripe].n.Add(-k)
			h[stripe] -= int32(k)
			n -= k
		}
	}
	return h
}

// Len returns the slots taken. A take that finds its stripe full counts one
// for an instant, until it undoes its add: Len leaves those out, since no
// stripe ever holds more than its share.
func (q *Queue) Len() int64 {
	var n int64
	for i := range q.stripes {
		n += min(q.stripes[i].n.Load(), q.stripes[i].limit)
	}
	return n
}
