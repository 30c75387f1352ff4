package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/info"
	"github.com/redisguard/redisguard/internal/typednil"
)

// Alert names: one per threshold of MonitorOptions.
const (
	AlertMemory         = "memory_usage"
	AlertFragmentation  = "fragmentation"
	AlertClients        = "clients"
	AlertBlockedClients = "blocked_clients"
	AlertSlowCommands   = "slow_commands"
)

// Alert is a threshold crossed (Firing) or no longer crossed (resolved).
type Alert struct {
	Name      string  // one of the Alert… constants
	Firing    bool    // true when the threshold was crossed, false when it resolved
	Value     float64 // what was measured: a ratio, a count, or milliseconds
	Threshold float64 // what it was compared with
	Message   string  // for a human, e.g. "Redis memory at 91.2% of maxmemory (threshold 85%)"
	At        time.Time
}

// MonitorOptions configures a Monitor. Zero thresholds take the defaults below.
type MonitorOptions struct {
	// Interval between polls. Zero means 15 s.
	Interval time.Duration
	// MemoryThreshold: used memory over maxmemory, in (0, 1]. Zero means 0.85.
	// Not checked while maxmemory is unset.
	MemoryThreshold float64
	// FragmentationThreshold: mem_fragmentation_ratio. Zero means 1.5.
	FragmentationThreshold float64
	// FragmentationMinMemory: below this much used memory the fragmentation
	// ratio is not checked; on a nearly empty server it is large and means
	// nothing. Zero means 64 MiB; -1 checks always.
	FragmentationMinMemory int64
	// ClientsThreshold: connected clients over maxclients, in (0, 1]. Zero means 0.9.
	ClientsThreshold float64
	// BlockedClientsThreshold: blocked clients. Zero means 10.
	BlockedClientsThreshold int
	// SlowlogThreshold: a slow-log entry at least this slow fires
	// AlertSlowCommands. Zero means 10 ms. The server logs only what is slower
	// than its slowlog-log-slower-than (10 ms by default); set it at or below.
	SlowlogThreshold time.Duration
	// OnAlert receives each alert, in order, on the goroutine running Run. Required.
	OnAlert func(Alert)
	// OnError receives a poll that could not read the server. Optional.
	OnError func(error)
}

// Monitor polls INFO and SLOWLOG and raises alerts on common production
// thresholds: each alert fires once when its threshold is crossed and once
// more when it resolves.
type Monitor struct {
	rdb    redis.UniversalClient
	opts   MonitorOptions
	firing map[string]bool
	lastID int64     // the newest slow-log entry already seen
	since  time.Time // slow-log entries older than this predate the monitor
}

// NewMonitor validates opts and returns a Monitor; call Run to start it. A
// nil rdb, or a nil pointer in it such as a (*redis.Client)(nil), is an error
// wrapping ErrNoClient.
func NewMonitor(rdb redis.UniversalClient, opts MonitorOptions) (*Monitor, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("metrics: invalid MonitorOptions.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if typednil.Is(rdb) {
		errs = append(errs, noClient("NewMonitor", rdb))
	}
	if opts.OnAlert == nil {
		bad("OnAlert", "is nil: alerts must go somewhere")
	}
	setDuration := func(field string, v *time.Duration, def time.Duration) {
		switch {
		case *v < 0:
			bad(field, "is %v: it must not be negative", *v)
		case *v == 0:
			*v = def
		}
	}
	setDuration("Interval", &opts.Interval, 15*time.Second)
	setDuration("SlowlogThreshold", &opts.SlowlogThreshold, 10*time.Millisecond)
	setRatio := func(field string, v *float64, def, limit float64) {
		switch {
		case math.IsNaN(*v) || *v < 0 || *v > limit:
			bad(field, "is %v: it must lie in (0, %v]", *v, limit)
		case *v == 0:
			*v = def
		}
	}
	setRatio("MemoryThreshold", &opts.MemoryThreshold, 0.85, 1)
	setRatio("ClientsThreshold", &opts.ClientsThreshold, 0.9, 1)
	setRatio("FragmentationThreshold", &opts.FragmentationThreshold, 1.5, math.MaxFloat64)
	switch {
	case opts.FragmentationMinMemory < -1:
		bad("FragmentationMinMemory", "is %d: use -1 to check always", opts.FragmentationMinMemory)
	case opts.FragmentationMinMemory == 0:
		opts.FragmentationMinMemory = 64 << 20
	}
	switch {
	case opts.BlockedClientsThreshold < 0:
		bad("BlockedClientsThreshold", "is %d: it must not be negative", opts.BlockedClientsThreshold)
	case opts.BlockedClientsThreshold == 0:
		opts.BlockedClientsThreshold = 10
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Monitor{rdb: rdb, opts: opts, firing: map[string]bool{}}, nil
}

// Run polls at once and then every Interval until ctx ends; it returns
// ctx.Err(). Run one Monitor at a time.
func (m *Monitor) Run(ctx context.Context) error {
	m.since = time.Now()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		if err := m.poll(ctx); err != nil && ctx.Err() == nil && m.opts.OnError != nil {
			m.opts.OnError(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// poll reads the server once and raises the alerts whose state changed.
func (m *Monitor) poll(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, min(m.opts.Interval, DefaultServerTimeout))
	defer cancel()
	text, err := m.rdb.Info(pctx, "memory", "clients").Result()
	if err != nil {
		return fmt.Errorf("metrics: monitor: INFO: %w", err)
	}
	info := info.Parse(text)
	now := time.Now()

	used, _ := info.Float("used_memory")
	if limit, ok := info.Float("maxmemory"); ok && limit > 0 {
		ratio := used / limit
		m.set(AlertMemory, ratio >= m.opts.MemoryThreshold, ratio, m.opts.MemoryThreshold, now,
			"Redis memory at %.1f%% of maxmemory (threshold %.0f%%)", 100*ratio, 100*m.opts.MemoryThreshold)
	}
	if frag, ok := info.Float("mem_fragmentation_ratio"); ok && used >= float64(m.opts.FragmentationMinMemory) {
		m.set(AlertFragmentation, frag >= m.opts.FragmentationThreshold, frag, m.opts.FragmentationThreshold, now,
			"Redis memory fragmentation ratio %.2f (threshold %.2f)", frag, m.opts.FragmentationThreshold)
	}
	connected, _ := info.Float("connected_clients")
	if limit, ok := info.Float("maxclients"); ok && limit > 0 {
		ratio := connected / limit
		m.set(AlertClients, ratio >= m.opts.ClientsThreshold, ratio, m.opts.ClientsThreshold, now,
			"Redis clients at %.0f of maxclients %.0f (threshold %.0f%%)", connected, limit, 100*m.opts.ClientsThreshold)
	}
	if blocked, ok := info.Float("blocked_clients"); ok {
		limit := float64(m.opts.BlockedClientsThreshold)
		m.set(AlertBlockedClients, blocked >= limit, blocked, limit, now,
			"Redis has %.0f blocked clients (threshold %.0f)", blocked, limit)
	}

	slow, err := m.slowCommands(pctx)
	if err != nil {
		return fmt.Errorf("metrics: monitor: SLOWLOG GET: %w", err)
	}
	ms := float64(m.opts.SlowlogThreshold) / float64(time.Millisecond)
	m.set(AlertSlowCommands, slow > 0, float64(slow), ms, now,
		"Redis logged %d commands slower than %v since the last check", slow, m.opts.SlowlogThreshold)
	return nil
}

// slowCommands counts the slow-log entries new since the last poll that took at
// least SlowlogThreshold.
func (m *Monitor) slowCommands(ctx context.Context) (int, error) {
	entries, err := m.rdb.SlowLogGet(ctx, 128).Result()
	if err != nil {
		return 0, err
	}
	slow, newest := 0, m.lastID
	for _, e := range entries {
		if e.ID <= m.lastID || e.Time.Before(m.since.Truncate(time.Second)) {
			continue
		}
		newest = max(newest, e.ID)
		if e.Duration >= m.opts.SlowlogThreshold {
			slow++
		}
	}
	m.lastID = newest
	return slow, nil
}

// set raises an alert when name's state changes.
func (m *Monitor) set(name string, firing bool, value, threshold float64, at time.Time, format string, args ...any) {
	if m.firing[name] == firing {
		return
	}
	m.firing[name] = firing
	msg := fmt.Sprintf(format, args...)
	if !firing {
		msg = "resolved: " + msg
	}
	m.opts.OnAlert(Alert{Name: name, Firing: firing, Value: value, Threshold: threshold, Message: msg, At: at})
}
