package wire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/outcome"
)

// ErrWriteOnClosed is the error of a write on a connection that was closed
// before the write began (a Sentinel switch or a pool filter closed it from
// another goroutine): the request never left, so it may run again, whatever it
// is. It is net.ErrClosed as well, so that go-redis discards the connection.
var ErrWriteOnClosed = fmt.Errorf("%w before the request was written", net.ErrClosed)

// Conn is a connection of a node's pool (its owner's). It measures the server's own time
// for each reply, from the moment the request was written to the moment its
// first byte came back, so that the breaker judges the server and not the time
// a command spent waiting for a connection, a dial or the scheduler. It also
// knows when a reply is still pending, which tells the dial gate whether the
// connection closed cleanly and lets a connection thrown away by a hurried
// caller be drained to learn whether the server would have answered in time.
type Conn struct {
	// What every command reads or writes, on the first cache line (the
	// struct is a multiple of one, and so is its address).
	net.Conn
	e *Endpoint
	// writeStamp is the node's reply clock's stamp at the first write
	// awaiting a reply, plus one; 0 when none is, writeFailed after a write
	// failed.
	writeStamp atomic.Int64
	// successes counts the server's successes on the connection for the
	// node's breaker, in memory the connection's user writes anyway.
	successes circuit.Tally
	gen       uint32        // the owner's address generation when dialed
	flags     atomic.Uint32 // connClosed, connLongWait, connReplied, …

	// On the second cache line: what go-redis's check of a pooled
	// connection and a read of a reply in one piece use.
	sys syscall.Conn // the connection underneath, when it has a file descriptor
	// replies follows what the server sends, to refuse a reply over the
	// client's limits (see Scanner); only the reading goroutine uses it.
	replies Scanner

	first []byte // the start of what the server sent first, set once with connReplied
}

// The flags of a Conn.
const (
	connClosed = 1 << iota
	// connLongWait: go-redis waits for the pending reply longer than the node's
	// ReadTimeout (a blocking command, a subscription), so its time says
	// nothing of the server's health.
	connLongWait
	// connReplied: the server sent something, so the connection was accepted.
	connReplied
	// connSetup: go-redis has written nothing but the commands that set the
	// connection up (HELLO, AUTH, CLIENT SETINFO, …) so far.
	connSetup
	// connSetupReply: the pending reply is to such a command. The breaker
	// never counts it as a success (a server that answers handshakes at
	// once but no command, a proxy whose backend hangs, must not look
	// healthy); slow, it is the server's slowness all the same, and against
	// a paused server the only place it shows (docs/BREAKER.md, Handshakes).
	connSetupReply
	// connUnused: a request's caller had given up before it was written (its
	// deadline had passed), and go-redis throws the connection away for it:
	// the server did nothing wrong.
	connUnused
)

// SyscallConn lets go-redis peek at the connection for a dead idle one. Only
// a connection with a file descriptor of its own is given to go-redis as a
// *Conn (see Wrap).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	return c.sys.SyscallConn()
}

// opaqueConn hides SyscallConn from go-redis on a connection without a file
// descriptor of its own, a TLS one: go-redis must not peek under its record
// layer. Its methods are those of net.Conn, which its Conn supplies.
type opaqueConn struct{ net.Conn }

// NetConn returns the connection underneath, as crypto/tls.Conn does.
func (c opaqueConn) NetConn() net.Conn { return c.Conn.(*Conn).NetConn() }

// Wrap wraps conn, just dialed to e's server under the owner's address
// generation gen, for go-redis's pool. The owner hears of it with Opened.
func Wrap(e *Endpoint, conn net.Conn, gen uint32) net.Conn {
	tc := &Conn{Conn: conn, e: e, gen: gen, replies: Scanner{Limits: e.Limits}}
	tc.flags.Store(connSetup)
	e.Owner.Opened(tc)
	if sys, ok := conn.(syscall.Conn); ok {
		tc.sys = sys
		return tc
	}
	return opaqueConn{tc}
}

// NetConn returns the connection underneath, as crypto/tls.Conn does.
func (c *Conn) NetConn() net.Conn { return c.Conn }

func (c *Conn) Write(p []byte) (int, error) {
	// The common case, the first write of a request on a connection in use,
	// calls nothing but the clock and the write; the rest is out of line,
	// which keeps the frame under every write small (see the solo hook).
	flags := c.flags.Load()
	r := c.e.Clock
	if flags&(connClosed|connLongWait|connSetup) != 0 || r == nil || c.writeStamp.Load() != 0 || !c.current() {
		return c.writeRare(p, flags)
	}
	stamp := r.Stamp()
	n, err := c.Conn.Write(p)
	if err != nil {
		return n, c.firstWriteFailed(n, err, stamp)
	}
	c.writeStamp.Store(int64(stamp) + 1)
	return n, nil
}

// writeRare is Write in every other case: a write on a closed or replaced
// connection, one more write of a request (a pipeline may take several), a
// write without a reply clock, the first after a long wait or during the
// connection's setup.
func (c *Conn) writeRare(p []byte, flags uint32) (int, error) {
	if flags&connClosed != 0 || !c.current() {
		return 0, c.errWriteOnClosed()
	}
	var stamp uint64
	firstWrite := c.writeStamp.Load() == 0 // of a request
	if firstWrite {
		if r := c.e.Clock; r != nil {
			stamp = r.Stamp()
		}
	}
	n, err := c.Conn.Write(p)
	switch {
	case err != nil && firstWrite:
		return n, c.firstWriteFailed(n, err, stamp)
	case err != nil:
		c.writeStamp.Store(writeFailed)
		return n, c.refusal(err)
	}
	if firstWrite {
		c.writeStamp.Store(int64(stamp) + 1)
		if flags&connLongWait != 0 {
			c.flags.And(^uint32(connLongWait))
		}
		if flags&connSetup != 0 {
			c.setupWritten(p)
		}
	}
	return n, nil
}

// firstWriteFailed follows the first write of a request, which recorded
// stamp and failed with err after writing n bytes, and returns its error.
func (c *Conn) firstWriteFailed(n int, err error, stamp uint64) error {
	if n == 0 && outcome.IsTimeout(err) && c.flags.Load()&connReplied != 0 && c.e.Clock != nil && c.e.Clock.Quick(stamp) {
		// The caller's deadline had passed before the write (nothing
		// else times a first write out at once) on a connection that
		// served: it closes clean, and is replaced.
		c.flags.Or(connUnused)
	} else {
		c.writeStamp.Store(writeFailed)
	}
	return c.refusal(err)
}

// errWriteOnClosed is the error of a write, or of a deadline set for one, on a
// connection closed or replaced before the request was written. (Inlined, it
// would make its callers' frames larger.)
//
//go:noinline
func (c *Conn) errWriteOnClosed() error {
	return &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: ErrWriteOnClosed}
}

// setupWritten notes whether p, a request written while the connection is
// being set up, is one more command of its setup, or the first of its use.
func (c *Conn) setupWritten(p []byte) {
	if isSetupRequest(p) {
		c.flags.Or(connSetupReply)
		return
	}
	c.flags.And(^uint32(connSetup | connSetupReply))
	c.e.Owner.Accepted() // the server took the connection
}

// writeFailed is writeStamp after a write failed, a caller's deadline passing
// say: whatever part of the request left, no reply is coming to judge, and
// the connection is done for.
const writeFailed = -1

func (c *Conn) Read(p []byte) (int, error) {
	// What follows the read is a call, so that this frame, under every
	// command's wait for its reply, stays small (see the solo hook).
	if c.replies.Failed() {
		return 0, c.overLimits()
	}
	n, err := c.Conn.Read(p)
	return c.read(p[:n], err)
}

// read follows what a read returned: p, the bytes read, and err.
func (c *Conn) read(p []byte, err error) (int, error) {
	if len(p) == 0 || !c.current() {
		return c.readRare(p, err)
	}
	if c.replies.Scan(p) != nil {
		return 0, c.overLimits()
	}
	if c.flags.Load()&connReplied == 0 {
		c.firstReply(p)
	}
	if ws := c.writeStamp.Load(); ws > 0 {
		c.writeStamp.Store(0)
		c.judge(uint64(ws-1), p[0])
	}
	return len(p), err
}

// readRare finishes a read that returned nothing, or that the master's
// switch made the old one's.
func (c *Conn) readRare(p []byte, err error) (int, error) {
	if !c.current() {
		// The master moved while the reply was awaited: what the old one
		// acknowledges now is not reported as a success, and its failure
		// is its own.
		return c.e.Owner.AfterSwitch(c, p, len(p), err)
	}
	return 0, c.readFailed(err)
}

// overLimits fails a read of a reply over the limits: go-redis must not see
// it (a peek for push notifications that ignores the error must not be
// followed by a read that waits), the connection is done for, and nothing
// pending is left to judge.
func (c *Conn) overLimits() error {
	c.writeStamp.Store(writeFailed)
	return c.replies.Fail(c.Conn, c.e.Owner.Address())
}

// firstReply keeps the start of the first bytes the server sent: the
// connection was accepted, unless they are a refusal (see refusal). Inlined,
// its append would make Read's frame larger.
//
//go:noinline
func (c *Conn) firstReply(p []byte) {
	c.first = append([]byte(nil), p[:min(len(p), len("-ERR max number of clients reached\r\n"))]...)
	c.flags.Or(connReplied)
}

// readFailed explains a read that returned nothing: a refusal, or a timeout
// that judges the pending reply slow when it is late enough.
func (c *Conn) readFailed(err error) error {
	if err == nil {
		return nil
	}
	err = c.refusal(err)
	if ws := c.writeStamp.Load(); ws > 0 && outcome.IsTimeout(err) {
		if b := c.e.Owner.Breaker(); b != nil && c.tookAtLeast(uint64(ws-1)) >= b.SlowCallThreshold() {
			c.writeStamp.Store(0)
			if c.current() && c.judged() {
				c.e.Owner.Slow(b, uint64(ws-1))
			}
		}
	}
	return err
}

// tookAtLeast returns a lower bound of the time the server has taken so far
// over the request whose write recorded stamp on the reply clock, which
// the endpoint has when its owner has a breaker.
func (c *Conn) tookAtLeast(stamp uint64) time.Duration {
	now := c.e.Now()
	return time.Duration(now - c.e.Clock.WrittenBy(stamp, now))
}

// SetReadDeadline tells how long go-redis will wait for the pending reply,
// which it sets after writing the request: see judged. The wait is a long one
// without a deadline, or with one further after the write than the node's
// ReadTimeout; it is measured from the reply clock's event the write saw,
// which came before the write by less than the clock's period, and the node's
// longWait allows for that. Only a long wait costs a write to memory shared
// with Close. (SetDeadline is not watched: go-redis sets one only to clear
// it, in the health check of a pooled connection, where no reply is pending.)
func (c *Conn) SetReadDeadline(t time.Time) error {
	if !c.current() {
		return c.setReadDeadlineAfterSwitch(t)
	}
	if ws := c.writeStamp.Load(); ws > 0 && c.e.Clock != nil {
		if t.IsZero() || time.Duration(t.UnixNano()-c.e.Clock.WallSeen(uint64(ws-1))) > c.e.LongWait {
			c.flags.Or(connLongWait)
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// setReadDeadlineAfterSwitch sets the read deadline of a connection to a
// master replaced since it was dialed.
func (c *Conn) setReadDeadlineAfterSwitch(t time.Time) error {
	err := c.Conn.SetReadDeadline(t)
	switch {
	case err == nil:
	case c.writeStamp.Load() == 0: // nothing written yet
		err = c.errWriteOnClosed()
	default: // cut at a switch after the write: the command was in flight
		_, err = c.e.Owner.AfterSwitch(c, nil, 0, err)
	}
	return err
}

// SetWriteDeadline comes before a request is written: on a connection to a
// master replaced since (cut at the switch, say) the request is never
// written, and may go to the new master.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if !c.current() {
		return c.errWriteOnClosed()
	}
	return c.Conn.SetWriteDeadline(t)
}

// judged reports whether the pending reply is one the breaker judges slow
// when it is: go-redis waits for it no longer than the node's ReadTimeout,
// and sets read deadlines at all.
func (c *Conn) judged() bool {
	return c.e.JudgeLimit > 0 && c.flags.Load()&connLongWait == 0
}

// JudgeSlack absorbs the time between the write and go-redis setting the
// read deadline from its own clock reading (see Endpoint.LongWait).
const JudgeSlack = 50 * time.Millisecond

// judge tells the node's breaker what the server did with the request the
// connection waited for, whose reply begins with first: a reply that took the
// server longer than the slow-call threshold is a slow call, when go-redis
// waits for it no longer than ReadTimeout (a blocking command's reply is slow
// by design); any other reply that is not an error (RESP '-' or '!') is a
// success, however long go-redis was prepared to wait, unless the request set
// the connection up (see connSetupReply). (A read that timed out
// past the threshold is a slow call too: see Read.) Error replies are judged
// by the command that gets them. Counting here, on the network path, leaves
// out what go-redis answers from its client-side cache: the server did not
// answer those. A connection to a master that moved away judges that old
// server, not the node's current one.
func (c *Conn) judge(stamp uint64, first byte) {
	// The common case, a quick reply to a command counted in the tally,
	// reads neither the owner nor its breaker.
	if r := c.e.Clock; r != nil && r.Quick(stamp) && !outcome.IsErrorReply(first) &&
		c.flags.Load()&connSetupReply == 0 && c.successes.Success() {
		return
	}
	c.judgeAgain(stamp, first)
}

// judgeAgain is judge through the owner's breaker.
func (c *Conn) judgeAgain(stamp uint64, first byte) {
	b := c.e.Owner.Breaker()
	switch {
	case b == nil:
	case !c.e.Clock.Quick(stamp) && c.tookAtLeast(stamp) >= b.SlowCallThreshold():
		if c.judged() {
			c.e.Owner.Slow(b, stamp)
		}
	case !outcome.IsErrorReply(first) && c.flags.Load()&connSetupReply == 0:
		if !b.RecordSuccess(&c.successes) {
			c.e.Owner.Answered(b, stamp)
		}
	}
}

// current reports whether the connection goes to the owner's server as it
// is now (a Sentinel master may have moved since it was dialed).
func (c *Conn) current() bool { return c.gen == c.e.Gen.Load() }

// Close closes the connection. One closed cleanly gives its dial back to the
// node's gate, and one closed only because a caller's deadline had passed
// before its request was written is replaced. One closed with a judged reply
// still pending that is not yet late is drained in the background until the
// slow-call threshold: a reply by then means the server is fine and it was
// the caller who was in a hurry; no reply counts one slow call on the node's
// breaker.
func (c *Conn) Close() error {
	flags := c.flags.Or(connClosed)
	if flags&connClosed != 0 {
		return nil
	}
	c.successes.Close()
	c.e.Owner.Closed(c)
	ws := c.writeStamp.Load()
	if ws == 0 {
		c.e.Owner.Refund()
		err := c.Conn.Close()
		if flags&connUnused != 0 && c.current() {
			c.e.Owner.Replace()
		}
		return err
	}
	if ws > 0 && c.judged() && c.current() && c.e.Drainer.start(c, uint64(ws-1)) {
		return nil
	}
	return c.Conn.Close()
}

// refusal explains a new connection that broke on a server's refusal. A
// server that refuses a connection (max clients, protected mode) writes its
// reply and closes, and the client's handshake may then fail on a broken pipe,
// a reset or an end of file before reading the reply, which would look like a
// server gone: the reply is returned instead when it was, or can still be,
// read.
func (c *Conn) refusal(err error) error {
	if !(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
		return err
	}
	if c.flags.Load()&connReplied != 0 {
		// go-redis may have peeked at the refusal without reading it as a reply.
		if reply := ErrorReply(c.first); reply != nil {
			return reply
		}
		return err
	}
	if c.Conn.SetReadDeadline(time.Now().Add(refusalReadTimeout)) == nil {
		var buf [128]byte
		n, _ := c.Conn.Read(buf[:])
		if reply := ErrorReply(buf[:n]); reply != nil {
			return reply
		}
	}
	return err
}

// ErrorReply returns the error reply b starts with, or nil.
func ErrorReply(b []byte) error {
	line, _, _ := strings.Cut(string(b), "\r\n")
	if msg, ok := strings.CutPrefix(line, "-"); ok && msg != "" {
		return Reply(msg)
	}
	return nil
}

// refusalReadTimeout bounds the read of a refusal: it is in the socket
// already, or it is not coming.
const refusalReadTimeout = 20 * time.Millisecond

// Reply is an error reply the server sent, as go-redis's are (redis.Error).
type Reply string

func (e Reply) Error() string { return string(e) }

// RedisError makes Reply a redis.Error.
func (Reply) RedisError() {}

// Gen is the owner's address generation when the connection was dialed.
func (c *Conn) Gen() uint32 { return c.gen }

// Idle reports whether no request awaits a reply on the connection.
func (c *Conn) Idle() bool { return c.writeStamp.Load() == 0 }

// Abandon leaves the pending reply unjudged: the connection is done for.
func (c *Conn) Abandon() { c.writeStamp.Store(writeFailed) }
