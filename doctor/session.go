package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// session sends the audit's commands to one server, one at a time, each
// bounded by the command timeout and by the audit's deadline.
//
// A command without an answer in time means the server stopped answering
// (paused, overloaded, blackholed): the session remembers it and fails every
// later command at once with the same error, so that one stalled server costs
// the audit one timeout, not one per command.
type session struct {
	rdb     redis.UniversalClient
	timeout time.Duration
	stalled error
}

// errOutOfTime is every command after the audit's deadline passed.
var errOutOfTime = errors.New("the audit's deadline passed")

// noAnswerError is a command that got no answer within its bound.
type noAnswerError struct {
	command string
	after   time.Duration
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("no answer to %s within %v", e.command, e.after)
}

// process runs cmd and returns its error. It returns when the bound passes
// even if the client ignores contexts (a go-redis client without
// ContextTimeoutEnabled); cmd then finishes on its own goroutine, and the
// caller must not read it.
func (s *session) process(ctx context.Context, cmd redis.Cmder) error {
	if s.stalled != nil {
		return s.stalled
	}
	bound := min(s.timeout, untilDeadline(ctx))
	if bound <= 0 {
		s.stalled = errOutOfTime
		return s.stalled
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.rdb.Process(ctx, cmd) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if isTimeout(err) {
		s.stalled = &noAnswerError{command: commandName(cmd), after: bound.Round(time.Millisecond)}
		return s.stalled
	}
	return err
}

// isTimeout reports whether err means that no answer came in time.
func isTimeout(err error) bool {
	var nerr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout())
}

// commandName is the upper-case name of cmd with its subcommand, if any:
// "INFO", "CONFIG GET", "ACL DRYRUN".
func commandName(cmd redis.Cmder) string {
	args := cmd.Args()
	name := strings.ToUpper(cmd.Name())
	if len(args) > 1 {
		if sub, ok := args[1].(string); ok && hasSubcommands(name) {
			name += " " + strings.ToUpper(sub)
		}
	}
	return name
}

func hasSubcommands(name string) bool {
	switch name {
	case "CONFIG", "ACL", "COMMAND", "PUBSUB", "SLOWLOG", "LATENCY":
		return true
	}
	return false
}

// reason says in a few words why a command gave err: "CONFIG not
// permitted", "CONFIG renamed or disabled", "no answer to INFO within 1s".
// The words are the server's or the package's own. It is "" for a nil err.
func reason(command string, err error) string {
	if err == nil {
		return ""
	}
	var stalled *noAnswerError
	if errors.As(err, &stalled) || errors.Is(err, errOutOfTime) {
		return err.Error()
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return command + ": " + err.Error()
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "NOPERM"):
		return command + " not permitted"
	case strings.HasPrefix(msg, "ERR unknown command"):
		return command + " renamed or disabled"
	case strings.HasPrefix(msg, "ERR unknown subcommand"), strings.HasPrefix(msg, "ERR Unknown subcommand"):
		return command + " not supported by this server"
	}
	return command + ": " + msg
}

// reasons joins the non-empty reasons with "; ".
func reasons(rs ...string) string {
	var out []string
	for _, r := range rs {
		if r != "" {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}
