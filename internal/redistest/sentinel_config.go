package redistest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// SentinelConfig describes the deployment StartSentinelGroup starts. The
// zero value is valid: a master without replicas watched by three
// Sentinels with a quorum of two, under the name "mymaster".
type SentinelConfig struct {
	// MasterName is the name the Sentinels know the master by; "" means
	// "mymaster".
	MasterName string
	// Replicas is how many replicas replicate the master; 0 means none,
	// and then there is nothing to fail over to.
	Replicas int
	// Sentinels is how many Sentinels watch the master; 0 means 3.
	Sentinels int
	// Quorum is how many Sentinels must agree that the master is down
	// before a failover starts; 0 means a majority of Sentinels. The
	// failover itself always needs a majority to elect a leader.
	Quorum int
	// DownAfter is down-after-milliseconds: how long the master may not
	// answer before a Sentinel deems it down. 0 means 1 s; it must be a
	// whole number of milliseconds.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout: how long a failover may take,
	// and half the wait before a failover that was not carried through
	// is tried again. 0 means 2 s; it must be a whole number of
	// milliseconds.
	FailoverTimeout time.Duration
	// Extra holds full redis.conf directive lines for the master and the
	// replicas (see StartServer). A "requirepass" is given to the
	// replicas as masterauth and to the Sentinels as auth-pass.
	Extra []string
	// SentinelExtra holds full directive lines for the Sentinels, such as
	// "requirepass" to protect the Sentinels themselves, which they then
	// also use with each other (sentinel sentinel-pass).
	SentinelExtra []string
}

const (
	defaultMasterName      = "mymaster"
	defaultSentinels       = 3
	defaultDownAfter       = time.Second
	defaultFailoverTimeout = 2 * time.Second
)

// validate reports every field StartSentinelGroup cannot honour.
func (cfg SentinelConfig) validate() error {
	var errs []error
	if strings.ContainsFunc(cfg.MasterName, func(r rune) bool { return r <= ' ' || r == '"' || r == '\'' }) {
		errs = append(errs, fmt.Errorf("SentinelConfig.MasterName = %q: must not contain spaces, quotes or control characters", cfg.MasterName))
	}
	if cfg.Replicas < 0 {
		errs = append(errs, fmt.Errorf("SentinelConfig.Replicas = %d: must not be negative", cfg.Replicas))
	}
	if cfg.Sentinels < 0 {
		errs = append(errs, fmt.Errorf("SentinelConfig.Sentinels = %d: must not be negative (0 means %d)", cfg.Sentinels, defaultSentinels))
	}
	sentinels := cfg.withDefaults().Sentinels
	if cfg.Quorum < 0 || cfg.Quorum > sentinels {
		errs = append(errs, fmt.Errorf("SentinelConfig.Quorum = %d: must be between 1 and the %d Sentinels (0 means a majority)", cfg.Quorum, sentinels))
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{{"DownAfter", cfg.DownAfter}, {"FailoverTimeout", cfg.FailoverTimeout}} {
		if d.value < 0 || d.value%time.Millisecond != 0 {
			errs = append(errs, fmt.Errorf("SentinelConfig.%s = %v: must be a positive whole number of milliseconds (0 means the default)", d.field, d.value))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg SentinelConfig) withDefaults() SentinelConfig {
	if cfg.MasterName == "" {
		cfg.MasterName = defaultMasterName
	}
	if cfg.Sentinels == 0 {
		cfg.Sentinels = defaultSentinels
	}
	if cfg.Quorum == 0 {
		cfg.Quorum = cfg.Sentinels/2 + 1
	}
	if cfg.DownAfter == 0 {
		cfg.DownAfter = defaultDownAfter
	}
	if cfg.FailoverTimeout == 0 {
		cfg.FailoverTimeout = defaultFailoverTimeout
	}
	return cfg
}

// dataConfig returns the config lines of the master, or of a replica of
// master when master is not nil.
func (cfg SentinelConfig) dataConfig(master *Server) []string {
	// A replica syncs at once instead of the master waiting 5 s for
	// more replicas, so that a failover can start soon after the start.
	lines := []string{"repl-diskless-sync-delay 0"}
	if pw := passwordFrom(cfg.Extra); pw != "" {
		lines = append(lines, "masterauth "+quoteArg(pw))
	}
	if master != nil {
		lines = append(lines, fmt.Sprintf("replicaof %s %d", loopbackHost, master.Port()))
	}
	return append(lines, cfg.Extra...)
}

// sentinelLines returns the config lines of every Sentinel. Sentinels
// that require a password use it to talk to each other as well.
func (cfg SentinelConfig) sentinelLines(master *Server) []string {
	lines := sentinelConfig(cfg.MasterName, master, cfg.Quorum, cfg.DownAfter, cfg.FailoverTimeout)
	if pw := passwordFrom(cfg.SentinelExtra); pw != "" {
		lines = append(lines, "sentinel sentinel-pass "+quoteArg(pw))
	}
	return append(lines, cfg.SentinelExtra...)
}
