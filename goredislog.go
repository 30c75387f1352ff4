package redisguard

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// GoRedisLogger sends the records go-redis writes on its own (a pool that
// failed to dial, a push notification it could not drain, a Sentinel
// failover, a cluster slot migration, a recovered panic) to a *slog.Logger
// instead of the standard error, where they bypass Options.Logger.
//
// go-redis v9 has one logger for the whole process, replaced with
// redis.SetLogger, and no logger per client. A Client therefore cannot send
// go-redis's records to its own Options.Logger without taking them from
// every other go-redis client in the process, and New leaves the process's
// logger alone. Install a GoRedisLogger once, at the start of main, next to
// the program's other global logging settings:
//
//	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
//	redis.SetLogger(redisguard.NewGoRedisLogger(logger.With("component", "go-redis")))
//
// Records carry no level in go-redis: one that reports a panic is logged at
// Error, one that reports a failure at Warn, any other at Info. The context
// go-redis passes (the command's, where it has one) goes to the handler, so
// that trace IDs in it are kept.
type GoRedisLogger struct {
	log *slog.Logger
}

// NewGoRedisLogger returns a GoRedisLogger writing to l; a nil l discards
// every record, as go-redis's logging.Disable does.
func NewGoRedisLogger(l *slog.Logger) *GoRedisLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &GoRedisLogger{log: l}
}

// Printf logs one record of go-redis. It implements go-redis's logging
// interface.
func (g *GoRedisLogger) Printf(ctx context.Context, format string, args ...any) {
	msg := goRedisMessage(fmt.Sprintf(format, args...))
	level := slog.LevelInfo
	switch lower := strings.ToLower(msg); {
	case strings.Contains(lower, "panic"):
		level = slog.LevelError
	case strings.Contains(lower, "fail"), strings.Contains(lower, "error"), strings.Contains(lower, "unexpected"):
		level = slog.LevelWarn
	}
	if ctx == nil {
		ctx = context.Background()
	}
	g.log.Log(ctx, level, msg)
}

// goRedisMessage trims a go-redis record for slog: without the "redis: "
// prefix (the logger's attributes say where a record comes from), and
// without the arguments an "unknown command" reply echoes, which may hold a password (an
// old server echoes HELLO … AUTH user password).
func goRedisMessage(msg string) string {
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "redis: "))
	if i := strings.Index(msg, ", with args beginning with:"); i >= 0 {
		msg = msg[:i] + ", with args beginning with: (not shown)"
	}
	return msg
}
