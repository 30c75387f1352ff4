package wire

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock spares a node's connections the system clock, which costs as
// much as the rest of their bookkeeping: a write records the clock's stamp,
// the number of its latest event, instead of the time, and the reply is
// judged from the stamp.
//
// The clock ticks every eighth of the slow-call threshold while commands are
// in flight, and stops when none are; a write starts it again. Each tick and
// each start is an event, numbered, whose time (a system clock reading) the
// clock keeps for a while. A reply before the next event after its write took
// less than a tick's period, well under the threshold: it is judged without
// the system clock. A later one reads it: the first event after the write
// came no earlier than the write, so the server took at least the time since
// that event, and the reply is slow when that is past the threshold. The rule
// thus never takes a reply under the threshold for a slow one; one over it by
// less than a period may pass as quick.
//
// A reply that took the threshold or longer is judged quick wrongly only if
// the clock did not tick meanwhile: its timer fired seven eighths of the
// threshold late, or more, or the clock stopped, which it does only with no
// command in flight. A host that busy delays the reply's reader as much, and
// the system clock would then count the delay against the server.
type Clock struct {
	now func() int64 // the system clock: monotonic nanoseconds from an epoch, never 0
	// wallNow is the wall clock, Unix nanoseconds: the scale of go-redis's
	// read deadlines, which may step away from the monotonic clock.
	wallNow func() int64
	period  time.Duration
	timer   *time.Timer
	busy    func() bool // whether commands are in flight where the clock serves

	mu sync.Mutex // orders the events

	// What connections read at every command, padded so that no cache line
	// holding it holds anything written more often.
	_ [64]byte
	// seq numbers the latest event; zero before the first. An event is
	// numbered before its time is read, so that its time is no earlier than
	// any write that recorded the event before it.
	seq atomic.Uint64
	// recorded numbers the latest event whose time is in at.
	recorded atomic.Uint64
	running  atomic.Bool
	stopped  atomic.Bool
	_        [64]byte
	// at holds the system clock (now) at the latest events: event s
	// at at[s%eventsKept]; wall holds the wall clock at them likewise.
	at   [eventsKept]atomic.Int64
	wall [eventsKept]atomic.Int64
}

// eventsKept is how many events the clock remembers: four slow-call
// thresholds' worth of ticks. A reply to a write older than that was slow.
const eventsKept = 32

// NewClock returns a stopped clock for the slow-call threshold, which ticks
// while busy reports commands in flight; now is the system clock it reads.
func NewClock(now func() int64, threshold time.Duration, busy func() bool) *Clock {
	r := &Clock{now: now, wallNow: func() int64 { return time.Now().UnixNano() }, period: max(threshold/8, 1), busy: busy}
	r.timer = time.AfterFunc(time.Hour, r.tick)
	r.timer.Stop()
	return r
}

// Stamp is what a write records: the number of the latest event, starting
// the clock first if it was stopped.
func (r *Clock) Stamp() uint64 {
	if !r.running.Load() {
		r.start()
	}
	return r.seq.Load()
}

// start starts the clock unless it runs already or was stopped for good.
func (r *Clock) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running.Load() || r.stopped.Load() {
		return
	}
	r.event()
	r.running.Store(true)
	r.timer.Reset(r.period)
}

// event records an event at the system clock's present reading. r.mu is held.
func (r *Clock) event() {
	s := r.seq.Load() + 1
	r.seq.Store(s)
	r.at[s%eventsKept].Store(r.now())
	r.wall[s%eventsKept].Store(r.wallNow())
	r.recorded.Store(s)
}

// Quick reports whether a reply arriving now to a request written at stamp
// came before the clock's next event: within a tick's period while the clock
// runs. (A clock that stopped meanwhile, with no command in flight, and did
// not start again, recorded no event either: a reply it leaves without one
// is not judged slow.)
func (r *Clock) Quick(stamp uint64) bool {
	return r.seq.Load() == stamp
}

// WrittenBy returns a reading of the system clock no earlier than the write
// that recorded stamp: the first event after it, or now when there has been
// none. After too many events, the earliest one kept serves, a later one.
func (r *Clock) WrittenBy(stamp uint64, now int64) int64 {
	recorded := r.recorded.Load()
	if recorded <= stamp { // none since, or its time is being read
		return now
	}
	first := stamp + 1
	if recorded-first >= eventsKept {
		first = recorded - eventsKept + 1 // the earliest kept, later still
	}
	// An event recorded meanwhile may take the slot: it is later still,
	// which serves as well, unless it came after now (a reader that slept
	// through eventsKept ticks).
	return min(r.at[first%eventsKept].Load(), now)
}

// WallSeen returns the wall clock's reading (Unix nanoseconds) at the event
// a write that recorded stamp saw, which came before the write (give or take
// the event's own bookkeeping). Asked right after the write, as it is, it is
// at hand: the slot is another event's only when the event's reading is not
// recorded yet (an earlier event's then) or 32 events later. A read deadline
// go-redis sets, a wall clock time, is compared with it: the wall clock may
// have stepped since the client started, but hardly within a tick.
func (r *Clock) WallSeen(stamp uint64) int64 {
	return r.wall[stamp%eventsKept].Load()
}

// tick records an event and goes on ticking while commands are in flight.
// Before it stops, it looks once more: a command admitted before a write
// that saw the clock running is counted by then.
func (r *Clock) tick() {
	r.mu.Lock()
	if r.stopped.Load() || !r.running.Load() {
		r.mu.Unlock()
		return
	}
	r.event()
	if r.busy() {
		r.timer.Reset(r.period)
		r.mu.Unlock()
		return
	}
	r.running.Store(false)
	r.mu.Unlock()
	if r.busy() {
		r.start()
	}
}

// Period is the time between two ticks: an eighth of the threshold.
func (r *Clock) Period() time.Duration { return r.period }

// Seq numbers the latest event: a write that records a stamp below it was
// written before that event.
func (r *Clock) Seq() uint64 { return r.seq.Load() }

// Stop stops the clock for good: its node is closed. Replies still to come
// are judged from the last event.
func (r *Clock) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped.Store(true)
	r.timer.Stop()
	r.running.Store(false)
}
