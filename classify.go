package redisguard

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// outcome is what a failed command tells the client about its connection and
// whether the command may run again.
type outcome uint8

const (
	// outcomeOK: success, a reply from the server (redis.Nil, WRONGTYPE, …), the
	// caller's own context ending, or a refusal by this client.
	outcomeOK outcome = iota
	// outcomeNotSent: the command never left this process (the dial or the
	// handshake of its connection failed, its node was not ready, or its
	// connection was closed before the write began). Safe to resend.
	outcomeNotSent
	// outcomeDropped: the connection broke after the command may have been
	// written. Only a read-only command may run again.
	outcomeDropped
	// outcomeTimeout: the server did not answer in time. Not retried: it may have
	// executed, and a second wait would only double the delay.
	outcomeTimeout
	// outcomeBusy: the server refused the command without executing it (LOADING,
	// READONLY, TRYAGAIN, …). Safe to resend after a backoff.
	outcomeBusy
	// outcomeSwitched: the command was written to a Sentinel master that was
	// replaced while it was in flight (see switchedError). It says nothing of
	// the new master; only a read-only command may run again, there.
	outcomeSwitched
)

// notSentError marks the failure of a new connection's handshake, so that it
// is recognised however go-redis wraps it on the way back to the command: the
// command that needed the connection was never written.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// NotSent tells code outside this package (the cache) that the command never
// reached the server: a timeout here is the handshake's, not a slow reply.
func (e *notSentError) NotSent() bool { return true }

// notSentNetError is a notSentError over a net.Error, which it stays: code
// written for go-redis asserts net.Error on timeouts.
type notSentNetError struct {
	notSentError
	net net.Error
}

func (e *notSentNetError) Timeout() bool { return e.net.Timeout() }

// Temporary is part of net.Error.
//
// Deprecated: as net.Error's.
func (e *notSentNetError) Temporary() bool {
	t, ok := e.net.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// markNotSent marks err as the failure of a connection no command was written on.
func markNotSent(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return &notSentNetError{notSentError{err}, ne}
	}
	return &notSentError{err}
}

// isTimeout reports whether err is a network timeout (not a context error,
// which also claims to be one).
func isTimeout(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout() && !isContextErr(err)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// callerGaveUp reports whether the caller's context is done or past its
// deadline. The deadline is read from the clock: go-redis sets it on the socket,
// which may time out a moment before the context notices.
func callerGaveUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// busyPrefixes are the replies with which a server refuses a command it did not
// execute, and which go-redis would retry.
var busyPrefixes = []string{
	"LOADING ", "READONLY ", "CLUSTERDOWN ", "TRYAGAIN ", "MASTERDOWN ", "NOREPLICAS ",
	"ERR max number of clients reached",
}

// classify says what a command's error means for its connection. A timeout or a
// broken connection after the caller's own deadline or cancellation is the
// caller's doing: the server may be fine.
func classify(ctx context.Context, err error) outcome {
	out := classifyErr(err)
	if (out == outcomeTimeout || out == outcomeDropped) && callerGaveUp(ctx) {
		return outcomeOK
	}
	return out
}

func classifyErr(err error) outcome {
	if err == nil || err == redis.Nil {
		return outcomeOK
	}
	var nse *notSentError
	var nsn *notSentNetError
	if isSwitched(err) && !errors.As(err, &nse) && !errors.As(err, &nsn) && !refusedBeforeSwitch(err) {
		return outcomeSwitched
	}
	if isNotReady(err) || errors.As(err, &nse) || errors.As(err, &nsn) || isWriteOnClosed(err) || isDialError(err) || refusedBeforeSwitch(err) {
		return outcomeNotSent
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range busyPrefixes {
			if strings.HasPrefix(msg, p) {
				return outcomeBusy
			}
		}
		return outcomeOK
	}
	if isContextErr(err) || errors.Is(err, ErrClosed) || errors.Is(err, ErrQueueFull) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) {
		return outcomeOK
	}
	if isTimeout(err) {
		return outcomeTimeout
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNREFUSED) {
		return outcomeDropped
	}
	var operr *net.OpError
	if errors.As(err, &operr) {
		return outcomeDropped
	}
	return outcomeOK
}

// isDialError reports whether err is the failure of a dial: no connection, so
// nothing was written.
func isDialError(err error) bool {
	var operr *net.OpError
	return errors.As(err, &operr) && operr.Op == "dial"
}

// hasPrefix reports whether err is a server reply starting with prefix.
func hasPrefix(err error, prefix string) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), prefix)
}

// isMaxClients reports whether the server refused a connection because it has
// as many clients as it accepts: it is busy, not gone.
func isMaxClients(err error) bool {
	return hasPrefix(err, "ERR max number of clients reached")
}

// isAuthFailure reports whether the server refused the connection's
// credentials (a changed password, a removed user).
func isAuthFailure(err error) bool {
	return hasPrefix(err, "WRONGPASS") || hasPrefix(err, "NOAUTH") || hasPrefix(err, "NOPERM") ||
		hasPrefix(err, "ERR invalid password") || hasPrefix(err, "ERR AUTH")
}

// isClusterChurn reports whether err is a reply a healthy node sends while the
// cluster around it changes: it says nothing about that node.
func isClusterChurn(err error) bool {
	return hasPrefix(err, "CLUSTERDOWN ") || hasPrefix(err, "TRYAGAIN ") ||
		hasPrefix(err, "MOVED ") || hasPrefix(err, "ASK ")
}
