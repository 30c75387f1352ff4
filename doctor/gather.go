package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/internal/info"
)

// dangerousCommand is a command a service should not be able to run, with
// the arguments ACL DRYRUN checks it with (DRYRUN never runs it).
type dangerousCommand struct {
	name   string
	dryrun []any
	// severe commands destroy data or the server on their own; the others
	// (CONFIG, KEYS) are risky in the wrong hands.
	severe bool
}

var dangerousCommands = []dangerousCommand{
	{name: "FLUSHALL", dryrun: []any{"flushall"}, severe: true},
	{name: "FLUSHDB", dryrun: []any{"flushdb"}, severe: true},
	{name: "CONFIG", dryrun: []any{"config", "set", "maxmemory", "0"}},
	{name: "DEBUG", dryrun: []any{"debug", "sleep", "0"}, severe: true},
	{name: "KEYS", dryrun: []any{"keys", "*"}},
}

// sentinelHelloChannel is where every Sentinel watching a server subscribes
// on that server.
const sentinelHelloChannel = "__sentinel__:hello"

// slowlogEntries is how many slow-log entries are read: the default
// slowlog-max-len.
const slowlogEntries = 128

// gather learns what the checks need about the server behind s. Every
// command is read-only: INFO, CONFIG GET, COMMAND INFO, ACL WHOAMI, ACL
// DRYRUN (which simulates a command without running it), ACL GETUSER,
// PUBSUB NUMSUB, SLOWLOG GET, LATENCY LATEST. Anything it could not learn is
// recorded in the facts, for the checks to skip with the reason. It returns
// no facts when the server does not answer PING, and facts with an error when
// the server stopped answering halfway.
func gather(ctx context.Context, s *session, t target, cfg settings) (*facts, error) {
	f := &facts{role: cfg.role, topology: t.topology, options: t.options}

	if err := s.process(ctx, redis.NewStatusCmd(ctx, "ping")); err != nil {
		return nil, pingError(err)
	}
	// The first PING may have dialed; the second measures the round trip.
	start := time.Now()
	if s.process(ctx, redis.NewStatusCmd(ctx, "ping")) == nil {
		f.ping = time.Since(start)
	}

	infoCmd := redis.NewStringCmd(ctx, "info")
	if f.infoErr = s.process(ctx, infoCmd); f.infoErr == nil {
		f.info = info.Parse(infoCmd.Val()).Fields()
	} else {
		f.hello = hello(ctx, s)
	}
	if f.info["redis_mode"] == "sentinel" || f.hello["mode"] == "sentinel" {
		return nil, errSentinel
	}
	if f.info["cluster_enabled"] == "1" || f.hello["mode"] == "cluster" {
		f.topology = cluster
	}

	f.config, f.configErr = configGet(ctx, s)
	f.present, f.presentErr = presentCommands(ctx, s)
	f.dryrun, f.dryrunErr = dryrunCommands(ctx, s)
	f.defaultUser, f.defaultUserErr = defaultUserFlags(ctx, s)

	numsub := redis.NewMapStringIntCmd(ctx, "pubsub", "numsub", sentinelHelloChannel)
	if f.sentinelsErr = s.process(ctx, numsub); f.sentinelsErr == nil {
		f.sentinels = int(numsub.Val()[sentinelHelloChannel])
	}

	slowlog := redis.NewSlowLogCmd(ctx, "slowlog", "get", slowlogEntries)
	if f.slowlogErr = s.process(ctx, slowlog); f.slowlogErr == nil {
		f.slowlog = slowlog.Val()
	}

	f.latency, f.latencyErr = latencyLatest(ctx, s)

	switch {
	case s.stalled != nil:
		// The server stopped answering: a second connection would wait too.
		f.withoutPwd = unauthenticated{err: s.stalled}
	case t.options == nil:
		f.withoutPwd = unauthenticated{err: errNoOptions}
	default:
		f.withoutPwd = openWithoutCredentials(ctx, t.options, min(s.timeout, untilDeadline(ctx)))
	}
	if s.stalled != nil {
		return f, fmt.Errorf("%w: %v", ErrUnreachable, s.stalled)
	}
	return f, nil
}

// errSentinel is a client pointed at a Sentinel instead of a data server.
var errSentinel = errors.New("doctor: the server is a Sentinel, which holds no data: audit the master through a failover client (redisguard-doctor -master NAME)")

// pingError turns the failure of the first PING into Report.Err's error.
func pingError(err error) error {
	var stalled *noAnswerError
	switch {
	case errors.As(err, &stalled):
		return fmt.Errorf("%w: %v (is it paused or overloaded?)", ErrUnreachable, stalled)
	case errors.Is(err, errOutOfTime):
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	case errors.Is(err, context.Canceled):
		return errCutShort(err)
	}
	msg := err.Error()
	var rerr redis.Error
	if errors.As(err, &rerr) && isAuthReply(msg) {
		return fmt.Errorf("%w: %s", ErrAuthentication, msg)
	}
	return fmt.Errorf("%w: %s", ErrUnreachable, msg)
}

// isAuthReply reports whether a server's error reply is about credentials.
func isAuthReply(msg string) bool {
	for _, prefix := range []string{"NOAUTH", "WRONGPASS", "ERR invalid password", "ERR AUTH", "ERR Client sent AUTH"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// hello returns HELLO's description of the server (version, mode, role):
// what a user without INFO can still learn. HELLO without a protocol version
// changes nothing on the connection.
func hello(ctx context.Context, s *session) map[string]string {
	cmd := redis.NewMapStringInterfaceCmd(ctx, "hello")
	if s.process(ctx, cmd) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range cmd.Val() {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out
}

// configGet reads configParams in one CONFIG GET, or one by one from a
// server older than 7.0, which takes a single parameter.
func configGet(ctx context.Context, s *session) (map[string]string, error) {
	args := []any{"config", "get"}
	for _, p := range configParams {
		args = append(args, p)
	}
	cmd := redis.NewMapStringStringCmd(ctx, args...)
	err := s.process(ctx, cmd)
	if err == nil {
		return cmd.Val(), nil
	}
	if !strings.Contains(err.Error(), "wrong number of arguments") {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range configParams {
		cmd := redis.NewMapStringStringCmd(ctx, "config", "get", p)
		if err := s.process(ctx, cmd); err != nil {
			return nil, err
		}
		for k, v := range cmd.Val() {
			out[k] = v
		}
	}
	return out, nil
}

// presentCommands reports which dangerous commands are in the server's
// command table: rename-command takes a command out of it.
func presentCommands(ctx context.Context, s *session) (map[string]bool, error) {
	args := []any{"command", "info"}
	for _, c := range dangerousCommands {
		args = append(args, c.name)
	}
	cmd := redis.NewSliceCmd(ctx, args...)
	if err := s.process(ctx, cmd); err != nil {
		return nil, err
	}
	reply := cmd.Val()
	if len(reply) != len(dangerousCommands) {
		return nil, fmt.Errorf("COMMAND INFO: %d entries for %d commands", len(reply), len(dangerousCommands))
	}
	out := map[string]bool{}
	for i, c := range dangerousCommands {
		out[c.name] = reply[i] != nil
	}
	return out, nil
}

// dryrunCommands asks ACL DRYRUN whether the client's user may run each
// dangerous command. The answer is "OK", or the server's reason why not
// ("This user has no permissions to run the 'flushall' command", "Command
// 'flushall' not found").
func dryrunCommands(ctx context.Context, s *session) (map[string]string, error) {
	whoami := redis.NewStringCmd(ctx, "acl", "whoami")
	if err := s.process(ctx, whoami); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range dangerousCommands {
		cmd := redis.NewStringCmd(ctx, append([]any{"acl", "dryrun", whoami.Val()}, c.dryrun...)...)
		err := s.process(ctx, cmd)
		var rerr redis.Error
		switch {
		case err == nil:
			out[c.name] = cmd.Val()
		case errors.As(err, &rerr) && strings.Contains(err.Error(), "not found"):
			out[c.name] = strings.TrimPrefix(err.Error(), "ERR ")
		default:
			return nil, err
		}
	}
	return out, nil
}

// defaultUserFlags returns the ACL flags of the default user. Only the
// flags are read: the reply's password hashes are dropped.
func defaultUserFlags(ctx context.Context, s *session) ([]string, error) {
	cmd := redis.NewMapStringInterfaceCmd(ctx, "acl", "getuser", "default")
	if err := s.process(ctx, cmd); err != nil {
		return nil, err
	}
	raw, ok := cmd.Val()["flags"].([]any)
	if !ok {
		return nil, errors.New("ACL GETUSER default: no flags in the reply")
	}
	var flags []string
	for _, f := range raw {
		if s, ok := f.(string); ok {
			flags = append(flags, s)
		}
	}
	return flags, nil
}

// latencyLatest reads LATENCY LATEST: per event, the latest and the
// highest latency recorded.
func latencyLatest(ctx context.Context, s *session) ([]latencyEvent, error) {
	cmd := redis.NewSliceCmd(ctx, "latency", "latest")
	if err := s.process(ctx, cmd); err != nil {
		return nil, err
	}
	var events []latencyEvent
	for _, entry := range cmd.Val() {
		fields, ok := entry.([]any)
		if !ok || len(fields) < 4 {
			continue
		}
		name, _ := fields[0].(string)
		latest, _ := fields[2].(int64)
		highest, _ := fields[3].(int64)
		events = append(events, latencyEvent{
			name:   name,
			latest: time.Duration(latest) * time.Millisecond,
			max:    time.Duration(highest) * time.Millisecond,
		})
	}
	return events, nil
}

// untilDeadline is the time left before ctx's deadline, or a long time when
// it has none.
func untilDeadline(ctx context.Context) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return time.Until(deadline)
	}
	return time.Hour
}
