package breaker

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// failurePrefixes are the replies of a server that is loading, busy, failing
// over, out of clients or unable to persist: it is not in a state to serve.
var failurePrefixes = []string{
	"LOADING ", "BUSY ", "MASTERDOWN ", "CLUSTERDOWN ", "TRYAGAIN ", "READONLY ",
	"NOREPLICAS ", "MISCONF ", "ERR max number of clients reached",
}

// IsFailure is the default classifier: it reports whether err means that Redis
// is unreachable or unable to serve, as opposed to a reply showing it works
// (redis.Nil, WRONGTYPE, a syntax error, NOSCRIPT, OOM) or the caller's own
// context ending. See the package documentation for the table.
func IsFailure(err error) bool {
	if err == nil || err == redis.Nil || IsExcluded(err) || errors.Is(err, ErrOpen) {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range failurePrefixes {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// IsExcluded is the default exclusion rule: the caller's context ended, so the
// call says nothing about Redis and is counted neither as a success nor as a
// failure.
func IsExcluded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// errPanicked is the outcome Do reports for a function that panicked.
var errPanicked = errors.New("breaker: the call panicked")
