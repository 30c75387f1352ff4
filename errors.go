package redisguard

import (
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/internal/tlsdial"
)

// Errors returned by the client's admission step. Each is set on the command as well
// (cmd.Err()), and errors.Is holds on both the returned error and cmd.Err().
var (

	// ErrClosed is returned for every command issued after Close. It is
	// go-redis's redis.ErrClosed itself, as a closed go-redis client returns.
	ErrClosed = redis.ErrClosed

	// ErrQueueFull is returned at once, without waiting, when Options.QueueLimit
	// commands are already in flight or waiting.
	ErrQueueFull = errors.New("redisguard: command queue full")

	// ErrNotReady is returned at once when the server a command is routed to has
	// no usable connection (it is reconnecting) and Options.OfflineQueue is off.
	// The error wrapping it names the server's address and its last connection
	// error: on a cluster, only the commands routed to a node that is down get it.
	ErrNotReady = errors.New("redisguard: client not ready")

	// ErrMaxRetriesReached means the reconnect strategy gave up. The client is then
	// closed for good: the error returned by every later command, and passed to
	// Hooks.OnError and Hooks.OnEnd, wraps it together with ErrClosed and the last
	// connection error.
	ErrMaxRetriesReached = errors.New("redisguard: max reconnect retries reached")

	// ErrUnsupportedClient is returned by Wrap for a go-redis client type it cannot
	// supervise (a Ring, for example).
	ErrUnsupportedClient = errors.New("redisguard: unsupported client type")

	// ErrAlreadyGuarded is returned by Wrap for a go-redis client that a Client
	// guards already (one New built, or one given to Wrap before, until that
	// Client is closed), and for a *Client itself: a second guard would add its
	// hooks a second time.
	ErrAlreadyGuarded = errors.New("redisguard: the client is guarded already")

	// ErrMasterSwitched is returned for a write that was in flight to a
	// Sentinel master when the client learned that another server had
	// replaced it (+switch-master, a READONLY reply, or ROLE on reconnect):
	// the old master may have applied it, so it is not sent again, and
	// whatever the old master answers after the switch is never reported as
	// a success. The error names both servers. A read in flight is sent
	// again to the new master instead, and a command not yet written goes
	// there.
	ErrMasterSwitched = errors.New("redisguard: the Sentinel master switched while the command was in flight")

	// ErrFullDuplex is returned for full-duplex auto-pipelining, which the client
	// cannot guard: go-redis queues a full-duplex write before the hooks run, so a
	// command the guard refuses would still reach the server.
	ErrFullDuplex = errors.New("redisguard: full-duplex auto-pipelining cannot be guarded; use half-duplex auto-pipelining")
)

// ErrServerNotTLS means that a client configured for TLS (a rediss:// URL, or
// a TLSConfig) reached a server that speaks Redis without TLS: a plaintext
// port. The attempt fails at once with an error wrapping it, instead of
// waiting out the connect timeout.
var ErrServerNotTLS = tlsdial.ErrServerNotTLS

// notReadyError is what a command routed to a node that is down gets. It names
// the node and its last connection error, and is ErrNotReady for errors.Is. It
// deliberately does not unwrap to the connection error: the command itself was
// never sent.
type notReadyError struct {
	addr  string
	state State
	cause error
}

func (e *notReadyError) Error() string {
	msg := fmt.Sprintf("%v: %s is %v", ErrNotReady, e.addr, e.state)
	if e.cause != nil {
		msg += " (last error: " + e.cause.Error() + ")"
	}
	return msg
}

func (e *notReadyError) Is(target error) bool { return target == ErrNotReady }

// notReadyNetError is a notReadyError whose last connection error is a
// net.Error, which it stays: code written for go-redis asserts net.Error on
// the error of a server that does not answer.
type notReadyNetError struct {
	notReadyError
	net net.Error
}

func (e *notReadyNetError) Timeout() bool { return e.net.Timeout() }

// Temporary is part of net.Error.
//
// Deprecated: as net.Error's.
func (e *notReadyNetError) Temporary() bool {
	t, ok := e.net.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func newNotReady(addr string, state State, cause error) error {
	e := notReadyError{addr: addr, state: state, cause: cause}
	var ne net.Error
	if errors.As(cause, &ne) {
		return &notReadyNetError{e, ne}
	}
	return &e
}

// retiredError is the refusal of a command that waited on a node the
// cluster's slot map dropped (a master whose replica was promoted): no
// attempt of its supervisor is coming. It is ErrNotReady for errors.Is, and
// comes as the failure of a dial, which it is (the command was never sent),
// so that go-redis's cluster loop routes the command again.
type retiredError struct{ addr string }

func (e *retiredError) Error() string {
	return fmt.Sprintf("%v: %s left the cluster's slot map", ErrNotReady, e.addr)
}

func (e *retiredError) Is(target error) bool { return target == ErrNotReady }

func newRetiredError(addr string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &retiredError{addr: addr}}
}

// isRetired reports whether err is the refusal of a command that waited on a
// node the slot map dropped.
func isRetired(err error) bool {
	var re *retiredError
	return errors.As(err, &re)
}

// isNotReady reports whether err is a refusal for a node that is down.
func isNotReady(err error) bool { return errors.Is(err, ErrNotReady) }
