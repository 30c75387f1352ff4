package redisguard

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// errWriteOnClosed is the error of a write on a connection that was closed
// before the write began (a Sentinel switch or a pool filter closed it from
// another goroutine): the request never left, so it may run again, whatever it
// is. It is net.ErrClosed as well, so that go-redis discards the connection.
var errWriteOnClosed = fmt.Errorf("%w before the request was written", net.ErrClosed)

// timedConn is a connection of a node's pool. It measures the server's own time
// for each reply, from the moment the request was written to the moment its
// first byte came back, so that the breaker judges the server and not the time
// a command spent waiting for a connection, a dial or the scheduler. It also
// knows when a reply is still pending, which tells the dial gate whether the
// connection closed cleanly and lets a connection thrown away by a hurried
// caller be drained to learn whether the server would have answered in time.
type timedConn struct {
	net.Conn
	n   *node
	gen uint64 // the node's address generation when dialed

	writeAt atomic.Int64 // clock reading of the first write awaiting a reply; 0 when none
	// deadline is the read deadline go-redis set last (unix nanoseconds, 0 for
	// none): how long it waits for the reply awaited.
	deadline atomic.Int64
	closed   atomic.Bool
	replied  atomic.Bool // the server sent something: the connection was accepted
	first    []byte      // the start of what it sent first, set once with replied
}

// sysConn is a timedConn over a connection with a file descriptor, which
// go-redis peeks at to find dead idle connections. A TLS connection has none
// of its own: go-redis must not peek under its record layer.
type sysConn struct{ *timedConn }

func (c sysConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

func (n *node) wrapConn(conn net.Conn, gen uint64) net.Conn {
	tc := &timedConn{Conn: conn, n: n, gen: gen}
	if _, ok := conn.(syscall.Conn); ok {
		return sysConn{tc}
	}
	return tc
}

// NetConn returns the connection underneath, as crypto/tls.Conn does.
func (c *timedConn) NetConn() net.Conn { return c.Conn }

func (c *timedConn) Write(p []byte) (int, error) {
	if c.closed.Load() || !c.current() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: errWriteOnClosed}
	}
	if c.writeAt.Load() == 0 {
		c.writeAt.Store(c.n.c.clock())
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		err = c.refusal(err)
	}
	return n, err
}

func (c *timedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.replied.Load() {
		c.first = append([]byte(nil), p[:min(n, len("-ERR max number of clients reached\r\n"))]...)
		c.replied.Store(true)
	}
	if err != nil && n == 0 {
		err = c.refusal(err)
	}
	if at := c.writeAt.Load(); at != 0 {
		took := time.Duration(c.n.c.clock() - at)
		switch {
		case n > 0:
			c.writeAt.Store(0)
			c.judge(at, took, p[0])
		case err != nil && isTimeout(err) && c.slow(took):
			c.writeAt.Store(0)
			c.judge(at, took, '-')
		}
	}
	return n, err
}

// SetReadDeadline tells how long go-redis will wait for the reply: replies it
// waits for longer than its ReadTimeout (blocking commands, subscriptions) are
// not judged (see judged).
func (c *timedConn) SetReadDeadline(t time.Time) error {
	c.deadline.Store(deadlineNanos(t))
	return c.Conn.SetReadDeadline(t)
}

func (c *timedConn) SetDeadline(t time.Time) error {
	c.deadline.Store(deadlineNanos(t))
	return c.Conn.SetDeadline(t)
}

func deadlineNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// judged reports whether the reply to the request written at writeAt (a
// clock reading) is one the breaker judges: go-redis waits for it no longer
// than the node's ReadTimeout.
func (c *timedConn) judged(writeAt int64) bool {
	d := c.deadline.Load()
	if d == 0 {
		return false
	}
	written := c.n.c.epoch.Add(time.Duration(writeAt)).UnixNano()
	return time.Duration(d-written) <= c.n.judgeLimit+judgeSlack
}

// judgeSlack absorbs the time between the write and go-redis setting the
// read deadline from its own clock reading.
const judgeSlack = 50 * time.Millisecond

// slow reports whether took is past the breaker's slow-call threshold.
func (c *timedConn) slow(took time.Duration) bool {
	b := c.n.breaker.Load()
	return b != nil && took >= b.SlowCallThreshold()
}

// judge tells the node's breaker what the server did with the request the
// connection waited for: a reply (first is its first byte) or a timeout
// (first is '-') that took the server longer than the slow-call threshold is
// a slow call; any other reply that is not an error (RESP '-' or '!') is a
// success. Error replies are judged by the command that gets them. Counting
// here, on the network path, leaves out what go-redis answers from its
// client-side cache: the server did not answer those. A connection to a master
// that moved away judges that old server, not the node's current one.
func (c *timedConn) judge(writeAt int64, took time.Duration, first byte) {
	if !c.judged(writeAt) || !c.current() {
		return
	}
	b := c.n.breaker.Load()
	switch {
	case b == nil:
	case took >= b.SlowCallThreshold():
		c.n.chargeSlow(b)
	case first != '-' && first != '!':
		b.Record(nil)
	}
}

// current reports whether the connection goes to the node's server as it is
// now (a Sentinel master may have moved since it was dialed).
func (c *timedConn) current() bool { return c.gen == c.n.gen.Load() }

// Close closes the connection. One closed cleanly gives its dial back to the
// node's gate. One closed with a judged reply still pending that is not yet
// late is drained in the background until the slow-call threshold: a reply by
// then means the server is fine and it was the caller who was in a hurry; no
// reply counts one slow call on the node's breaker.
func (c *timedConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	at := c.writeAt.Load()
	if at == 0 {
		c.n.dials.refund()
		return c.Conn.Close()
	}
	if c.judged(at) && c.n.c.drainer.start(c, at) {
		return nil
	}
	return c.Conn.Close()
}

// chargeSlow counts one slow call of the node's server on b. While b is
// half-open, it is left for the next probe to finish, which is charged with it
// (see verdict): a half-open breaker judges its probes alone.
func (n *node) chargeSlow(b *breaker.Breaker) {
	if !b.Record(breaker.ErrSlowCall) && b.State() == breaker.StateHalfOpen {
		n.slowReplies.Add(1)
	}
}

// takeSlowReply charges the calling command with one of the node's slow
// replies, if there is one.
func (n *node) takeSlowReply() bool {
	for {
		v := n.slowReplies.Load()
		if v <= 0 {
			return false
		}
		if n.slowReplies.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// refusal explains a new connection that broke on a server's refusal. A
// server that refuses a connection (max clients, protected mode) writes its
// reply and closes, and the client's handshake may then fail on a broken pipe,
// a reset or an end of file before reading the reply, which would look like a
// server gone: the reply is returned instead when it was, or can still be,
// read.
func (c *timedConn) refusal(err error) error {
	if !(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
		return err
	}
	if c.replied.Load() {
		// go-redis may have peeked at the refusal without reading it as a reply.
		if reply := errorReply(c.first); reply != nil {
			return reply
		}
		return err
	}
	if c.Conn.SetReadDeadline(time.Now().Add(refusalReadTimeout)) == nil {
		var buf [128]byte
		n, _ := c.Conn.Read(buf[:])
		if reply := errorReply(buf[:n]); reply != nil {
			return reply
		}
	}
	return err
}

// errorReply returns the error reply b starts with, or nil.
func errorReply(b []byte) error {
	line, _, _ := strings.Cut(string(b), "\r\n")
	if msg, ok := strings.CutPrefix(line, "-"); ok && msg != "" {
		return serverReply(msg)
	}
	return nil
}

// refusalReadTimeout bounds the read of a refusal: it is in the socket
// already, or it is not coming.
const refusalReadTimeout = 20 * time.Millisecond

// serverReply is an error reply the server sent, as go-redis's are
// (redis.Error).
type serverReply string

func (e serverReply) Error() string { return string(e) }

// RedisError makes serverReply a redis.Error.
func (serverReply) RedisError() {}

// isWriteOnClosed reports whether err is a write that never began because its
// connection was closed first.
func isWriteOnClosed(err error) bool { return errors.Is(err, errWriteOnClosed) }
