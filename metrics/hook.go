package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// commandMetrics are the series of one command label, resolved once so that
// counting a command allocates nothing.
type commandMetrics struct {
	name     string
	count    prometheus.Counter
	duration prometheus.Observer
}

// Hook returns a go-redis hook that counts and times every command of the
// client it is added to, except the ones go-redis sends to set up a connection
// (see redisguard.IsConnectionSetup): for plain go-redis clients. Instrument adds it to a
// *redisguard.Client along with the client's own metrics.
func (m *Metrics) Hook() redis.Hook { return hook{m} }

type hook struct{ m *Metrics }

func (hook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if redisguard.IsConnectionSetup(cmd) {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		cm := h.m.command(cmd.Name())
		cm.count.Inc()
		cm.duration.Observe(time.Since(start).Seconds())
		if err != nil && err != redis.Nil {
			h.m.errors.WithLabelValues(cm.name, reason(err)).Inc()
		}
		return err
	}
}

func (h hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if allConnectionSetup(cmds) {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		h.m.pipeline.Observe(time.Since(start).Seconds())
		for _, cmd := range cmds {
			cm := h.m.command(cmd.Name())
			cm.count.Inc()
			if cerr := cmd.Err(); cerr != nil && cerr != redis.Nil {
				h.m.errors.WithLabelValues(cm.name, reason(cerr)).Inc()
			}
		}
		return err
	}
}

// allConnectionSetup reports whether a pipeline holds only what go-redis sends
// to set up a connection: not the application's commands, not counted.
func allConnectionSetup(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		if !redisguard.IsConnectionSetup(cmd) {
			return false
		}
	}
	return len(cmds) > 0
}

// command returns the series of a command name, mapping unknown names to
// "other".
func (m *Metrics) command(name string) *commandMetrics {
	if _, known := knownCommands[name]; !known {
		// Unknown names are not remembered one by one, so that a caller
		// sending random names cannot grow the map.
		name = "other"
	}
	if cm, ok := m.perCommand.Load(name); ok {
		return cm.(*commandMetrics)
	}
	cm, _ := m.perCommand.LoadOrStore(name, &commandMetrics{
		name:     name,
		count:    m.commands.WithLabelValues(name),
		duration: m.durations.WithLabelValues(name),
	})
	return cm.(*commandMetrics)
}

// replyReasons are the error replies counted under their own reason; other
// replies count as "reply".
var replyReasons = map[string]string{
	"ERR": "err", "WRONGTYPE": "wrongtype", "LOADING": "loading", "BUSY": "busy",
	"READONLY": "readonly", "OOM": "oom", "NOSCRIPT": "noscript", "MASTERDOWN": "masterdown",
	"CLUSTERDOWN": "clusterdown", "TRYAGAIN": "tryagain", "NOAUTH": "noauth",
	"WRONGPASS": "wrongpass", "NOPERM": "noperm", "EXECABORT": "execabort",
	"CROSSSLOT": "crossslot", "MOVED": "moved", "ASK": "ask", "MISCONF": "misconf",
	"NOREPLICAS": "noreplicas",
}

// reason maps an error to one of a fixed set of label values.
func reason(err error) string {
	switch {
	case errors.Is(err, breaker.ErrOpen):
		return "breaker_open"
	case errors.Is(err, redisguard.ErrNotReady):
		return "not_ready"
	case errors.Is(err, redisguard.ErrQueueFull):
		return "queue_full"
	case errors.Is(err, redisguard.ErrClosed), errors.Is(err, redisguard.ErrMaxRetriesReached), errors.Is(err, redis.ErrClosed):
		return "closed"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, redis.ErrPoolTimeout):
		return "pool_timeout"
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		prefix, _, _ := strings.Cut(rerr.Error(), " ")
		if r, ok := replyReasons[prefix]; ok {
			return r
		}
		return "reply"
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		if nerr.Timeout() {
			return "timeout"
		}
		return "network"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "network"
	}
	return "other"
}
