package wire

import (
	"sync/atomic"
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
)

// Owner is what a connection reports to and asks: the node that dialed it.
// Its methods are called on the connection's own goroutine (a command's, or
// a drain's) and must be quick.
type Owner interface {
	// Address is the server's address now, for errors.
	Address() string
	// Breaker is the breaker that judges the server, nil when none does.
	Breaker() *circuit.Breaker
	// Opened: c was just dialed (Wrap). Closed: c is closing.
	Opened(c *Conn)
	Closed(c *Conn)
	// Accepted: the server took a new connection: go-redis wrote the first
	// command after its setup. Refund: a connection closed cleanly with no
	// reply pending, or a drain found the server answering: its dial is
	// given back to the owner's dial gate.
	Accepted()
	Refund()
	// Slow counts one slow call on b, for the request whose write recorded
	// stamp on the reply clock. Answered hears a reply within the
	// threshold to such a request, which b, no longer closed, did not count.
	Slow(b *circuit.Breaker, stamp uint64)
	Answered(b *circuit.Breaker, stamp uint64)
	// AfterSwitch is what a connection dialed under an earlier generation
	// makes of what it read: n bytes starting p, or err (it may call
	// Abandon).
	AfterSwitch(c *Conn, p []byte, n int, err error) (int, error)
	// Replace: a drain found the server answering a connection whose
	// caller had given up: the owner may open another in its place (see
	// Drainer.drain).
	Replace()
}

// Endpoint is what the connections to one server share: their owner and
// the settings the owner fixed when it was made. Its fields must not change
// once a connection was wrapped with it.
type Endpoint struct {
	// What every command's read, write and deadlines use comes first: the
	// struct takes 96 bytes, which the allocator aligns to 32, so these 24
	// share one cache line.
	//
	// Gen is the owner's address generation: a connection dialed under
	// another one goes to a server the owner has moved away from. It is
	// read here rather than asked of the Owner because every read, write
	// and deadline of a command checks it.
	Gen   *atomic.Uint32
	Clock *Clock // the reply clock; nil when the owner has no breaker
	// LongWait is a read deadline further than this after the write: a
	// blocking command's, whose time is not judged (JudgeLimit, JudgeSlack
	// and a Clock period).
	LongWait time.Duration

	Owner   Owner
	Limits  *Limits
	Drainer *Drainer
	// Now is the system clock the Clock reads.
	Now func() int64
	// JudgeLimit is the longest go-redis waits for a reply (its
	// ReadTimeout, or 30 s without one): replies are judged slow only when
	// it is positive.
	JudgeLimit time.Duration
	// MaxDrains bounds the connections drained at once: as many as the
	// owner's pool dials at once.
	MaxDrains int32
	draining  atomic.Int32
	_         [16]byte // 96 bytes, which the allocator aligns to 32 (see Gen)
}
