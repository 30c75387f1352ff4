package outcome

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

// Table sorts errors into kinds. Its zero value knows go-redis's errors and
// the standard library's; a program adds its own sentinels. A Table is not
// changed after it is built.
type Table struct {
	// NotSent are errors that mean the command never left the process.
	// Any error with a NotSent() bool method that returns true means it too.
	NotSent []error
	// Refused are the process's own refusals of a command.
	Refused []error
	// Switched are errors of a connection to a server replaced since (a
	// Sentinel master's switch).
	Switched []error
}

// replyRules sort the error replies of a server, by prefix, in order.
var replyRules = []struct {
	prefix string
	kind   Kind
}{
	{"LOADING ", Loading},
	{"MASTERDOWN ", Loading},
	{"NOREPLICAS ", Loading},
	{"ERR max number of clients reached", MaxClients},
	{"READONLY ", ReadOnly},
	{"CLUSTERDOWN ", ClusterChurn},
	{"TRYAGAIN ", ClusterChurn},
	{"MOVED ", Redirect},
	{"ASK ", Redirect},
	{"BUSY ", Unable},
	{"MISCONF ", Unable},
	{"WRONGPASS", Auth},
	{"NOAUTH", Auth},
	{"NOPERM", Auth},
	{"ERR invalid password", Auth},
	{"ERR AUTH", Auth},
}

// replyKind returns the kind of a server's error reply.
func replyKind(msg string) Kind {
	for _, r := range replyRules {
		if strings.HasPrefix(msg, r.prefix) {
			return r.kind
		}
	}
	return Answer
}

// Kind returns the kind of err. The rules are tried in the order of the
// kinds: the first that matches wins.
func (t Table) Kind(err error) Kind {
	switch {
	case err == nil:
		return OK
	case err == redis.Nil:
		return Answer
	}
	operr, isOp := errors.AsType[*net.OpError](err)
	if isOp && operr.Op == "dial" {
		if IsTimeout(err) {
			return DialTimeout
		}
		return DialRefused
	}
	if t.notSent(err) {
		return NotSent
	}
	if isAny(err, t.Switched) {
		return Switched
	}
	if rerr, ok := errors.AsType[redis.Error](err); ok {
		return replyKind(rerr.Error())
	}
	switch {
	case IsContextErr(err):
		return CallerGone
	case errors.Is(err, redis.ErrClosed) || isAny(err, t.Refused):
		return Refused
	case errors.Is(err, redis.ErrPoolTimeout):
		return PoolTimeout
	case IsTimeout(err):
		return Timeout
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNREFUSED) ||
		isOp:
		return Dropped
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return Network
	}
	return Other
}

func (t Table) notSent(err error) bool {
	if m, ok := errors.AsType[interface {
		error
		NotSent() bool
	}](err); ok && m.NotSent() {
		return true
	}
	return isAny(err, t.NotSent)
}

func isAny(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// OfCall returns the kind of err and its row in phase p, for a call made
// under ctx: a Timeout or a Dropped connection once ctx ended or its
// deadline passed is Abandoned (go-redis sets the deadline on the socket,
// which may time out a moment before the context notices).
func (t Table) OfCall(ctx context.Context, err error, p Phase) (Kind, Row) {
	k := t.Kind(err)
	if (k == Timeout || k == Dropped) && CallerGaveUp(ctx) {
		k = Abandoned
	}
	return k, Of(k, p)
}

// CallerGaveUp reports whether ctx is done or past its deadline, read from
// the clock.
func CallerGaveUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// IsTimeout reports whether err is a network timeout (not a context error,
// which also claims to be one).
func IsTimeout(err error) bool {
	nerr, ok := errors.AsType[net.Error](err)
	return ok && nerr.Timeout() && !IsContextErr(err)
}

// IsContextErr reports whether err is a context's cancellation or deadline.
func IsContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// IsErrorReply reports whether a RESP reply starting with first is an error
// ('-', or RESP3's '!'): the command that gets it judges it, not the
// connection.
func IsErrorReply(first byte) bool { return first == '-' || first == '!' }
