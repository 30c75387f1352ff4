package redisguard

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/outcome"
	"github.com/redisguard/redisguard/internal/wire"
)

// IsConnectionSetup reports whether cmd is one that go-redis sends while it sets
// up a new connection (HELLO, AUTH, SELECT, READONLY, CLIENT SETNAME / SETINFO /
// TRACKING / MAINT_NOTIFICATIONS). go-redis runs them through the client's
// hooks, so a hook that counts the application's commands may want to skip
// them. The guard lets them pass untouched: they belong to the command that
// needed the connection, which was admitted already. go-redis spells them in
// lower case; the same commands sent by the application in upper case through
// Do are not taken for connection setup.
func IsConnectionSetup(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) == 0 {
		return false
	}
	name, _ := args[0].(string)
	var sub string
	if len(args) > 1 {
		sub, _ = args[1].(string)
	}
	return wire.IsSetupName(name, sub)
}

// isSetup is IsConnectionSetup for the guard's hooks, inlined into them: a
// command with a string reply (GET, and most reads) is told apart by its
// type alone, since go-redis builds none of its set-up commands so
// (TestSetupCommandsHaveNoStringReply).
func isSetup(cmd redis.Cmder) bool {
	if _, ok := cmd.(*redis.StringCmd); ok {
		return false
	}
	return IsConnectionSetup(cmd)
}

// allConnectionSetup reports whether a pipeline holds connection setup only.
func allConnectionSetup(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		if !IsConnectionSetup(cmd) {
			return false
		}
	}
	return len(cmds) > 0
}

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

// errTable sorts the errors of a command for every part of the client that
// handles one (see internal/outcome): the client's own sentinels are added to
// what the table knows.
var errTable = outcome.Table{
	NotSent:  []error{ErrNotReady, wire.ErrWriteOnClosed},
	Refused:  []error{ErrQueueFull, breaker.ErrOpen},
	Switched: []error{ErrMasterSwitched},
}

// classify returns the kind and row of a command's error under ctx.
func classify(ctx context.Context, err error) (outcome.Kind, outcome.Row) {
	return errTable.OfCall(ctx, err, outcome.Command)
}

// kindOf returns the kind of err.
func kindOf(err error) outcome.Kind { return errTable.Kind(err) }
