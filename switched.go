package redisguard

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redisguard/redisguard/internal/wire"
)

// switchedError is the failure of a command whose connection went to a
// Sentinel master that another server has replaced since it was dialed: the
// connection was cut at the switch, or its reply came after it. It names the
// server it came from, so that it counts against that server only, never
// against the new master (see outcomeSwitched). It stays a net.Error when
// what broke was one, as go-redis's own error would be.
type switchedError struct {
	from, to string
	cause    error
	// refused: the old master, demoted, refused the command (READONLY):
	// it was not applied, and may run on the new master, whatever it is.
	refused bool
}

func (e *switchedError) Error() string {
	if e.refused {
		return fmt.Sprintf("%v: from %s to %s; %s refused the command (%v)", ErrMasterSwitched, e.from, e.to, e.from, e.cause)
	}
	return fmt.Sprintf("%v: from %s to %s; the command may have been applied on %s (%v)", ErrMasterSwitched, e.from, e.to, e.from, e.cause)
}

func (e *switchedError) Unwrap() []error { return []error{ErrMasterSwitched, e.cause} }

// switchedNetError is a switchedError over a net.Error.
type switchedNetError struct {
	switchedError
	net net.Error
}

func (e *switchedNetError) Timeout() bool { return e.net.Timeout() }

// Temporary is part of net.Error.
//
// Deprecated: as net.Error's.
func (e *switchedNetError) Temporary() bool {
	t, ok := e.net.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func newSwitched(from, to string, cause error) error {
	e := switchedError{from: from, to: to, cause: cause}
	var ne net.Error
	if errors.As(cause, &ne) {
		return &switchedNetError{e, ne}
	}
	return &e
}

// NotSent makes a refusal by a demoted master replaced since a command that
// never ran (see internal/outcome): it may run on the new master.
func (e *switchedError) NotSent() bool { return e.refused }

// afterSwitch is what a connection to a master replaced since makes of what
// it read: n bytes starting p, or err. Connections to a master that was found
// demoted (READONLY) were left open: it is alive, refuses writes, and answers
// what it was sent before the switch, which is passed on, but a refusal is
// made a switchedError, so that the new master is not taken for demoted.
// Any other connection was cut at the switch: whatever it reads, it fails,
// and so does any read that failed: the old server's failure is its own.
func (n *node) afterSwitch(c *wire.Conn, p []byte, read int, err error) (int, error) {
	from := c.RemoteAddr().String()
	if read > 0 && n.wasDemoted(from) {
		if bytes.HasPrefix(p[:read], []byte("-READONLY ")) {
			c.Abandon()
			line, _, _ := bytes.Cut(p[:read], []byte("\r\n"))
			return 0, &switchedError{from: from, to: n.address(), cause: wire.Reply(line[1:]), refused: true}
		}
		return read, err
	}
	c.Abandon()
	if err == nil || read > 0 {
		err = net.ErrClosed
	}
	return 0, newSwitched(from, n.address(), err)
}

// wasDemoted reports whether addr is a master the node left after finding it
// demoted.
func (n *node) wasDemoted(addr string) bool {
	d := n.demotedFrom.Load()
	return d != nil && *d == addr
}

// maxSwitchReruns bounds the runs of one command that connections to a
// replaced master refused to write before the retry budget counts them: each
// is thrown away by go-redis, so a command meets at most a pool's worth.
const maxSwitchReruns = 16

// track registers a new connection of a node whose server may be replaced (a
// Sentinel master), so that a switch cuts it at once.
func (n *node) track(c *wire.Conn) {
	if !n.master {
		return
	}
	n.connsMu.Lock()
	if n.conns == nil {
		n.conns = make(map[*wire.Conn]struct{})
	}
	n.conns[c] = struct{}{}
	n.connsMu.Unlock()
}

// untrack forgets a connection that closed.
func (n *node) untrack(c *wire.Conn) {
	if !n.master {
		return
	}
	n.connsMu.Lock()
	delete(n.conns, c)
	n.connsMu.Unlock()
}

// cutOld closes every connection to old, a server the node has moved away
// from, but for those of a master found demoted that await a reply.
// Their socket is closed under go-redis, which finds out at its next read or
// write (a command waiting for a reply at once): the connection refuses to
// write, and a reply pending on it fails with a switchedError. go-redis then
// throws the connection away, closing it.
func (n *node) cutOld(old string) {
	soft := n.wasDemoted(old)
	gen := n.gen.Load()
	var cut []*wire.Conn
	n.connsMu.Lock()
	for c := range n.conns {
		// A demoted master's connections awaiting a reply are left to
		// get it (see afterSwitch).
		if c.Gen() != gen && (!soft || c.Idle()) {
			cut = append(cut, c)
			delete(n.conns, c)
		}
	}
	n.connsMu.Unlock()
	for _, c := range cut {
		conn := c.NetConn()
		if tc, ok := conn.(*tls.Conn); ok {
			// Not tls.Conn.Close, which writes to a server that may be
			// frozen.
			conn = tc.NetConn()
		}
		_ = conn.Close()
	}
}

// startSwitch opens the window in which the node's new master is being
// found: until it is ready, or the connect timeout has passed, commands wait
// for it instead of being refused.
func (n *node) startSwitch() {
	n.switchUntil.Store(time.Now().Add(n.c.cfg.connectTimeout).UnixNano())
}

// inSwitch reports whether a switched master is being found again.
func (n *node) inSwitch() bool {
	until := n.switchUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// switchTimer returns a timer firing when the switch window ends, or nil
// when there is none.
func (n *node) switchTimer() *time.Timer {
	until := n.switchUntil.Load()
	if until == 0 {
		return nil
	}
	d := time.Until(time.Unix(0, until))
	if d <= 0 {
		return nil
	}
	return time.NewTimer(d)
}

// demoted follows a READONLY reply from a Sentinel master that is ready: it
// was demoted, and its supervisor finds the new one at once while commands
// wait for it.
func (n *node) demoted(cause error) {
	if n.State() != StateReady {
		return
	}
	addr := n.address()
	n.demotedFrom.Store(&addr)
	n.startSwitch()
	n.lost(cause)
	n.hurry()
}
