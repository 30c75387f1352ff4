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
	// outcomeNotSent: the command never left this process (the dial failed, or
	// the client was not ready when the connection was needed). Safe to resend.
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
)

// notSentError marks the failure of a new connection, in its dial or in its
// handshake, so that it is recognised however go-redis wraps it on the way back
// to the command: the command that needed the connection was never written.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

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
	if errors.Is(err, ErrNotReady) || errors.As(err, &nse) {
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
