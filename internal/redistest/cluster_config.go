package redistest

import (
	"errors"
	"fmt"
	"time"
)

// ClusterConfig describes the cluster StartCluster creates. The zero value
// is a valid config: three masters without replicas, a node timeout of 2 s,
// slots of a failed shard refused while the others are served.
type ClusterConfig struct {
	// Masters is how many masters share the 16384 slots; 0 means 3, the
	// fewest redis-cli --cluster create accepts.
	Masters int
	// ReplicasPerMaster is how many replicas each master gets; 0 means
	// none.
	ReplicasPerMaster int
	// NodeTimeout is cluster-node-timeout: how long a node may not
	// answer before the others flag it as failing and its replica takes
	// over, about a second later. 0 means 2 s; it must be a whole number
	// of milliseconds, at least 100 ms.
	NodeTimeout time.Duration
	// RequireFullCoverage is cluster-require-full-coverage. The zero
	// value, false, writes "no", unlike Redis's own default: the nodes
	// keep serving their slots while a shard is down, which is what
	// production clusters that value availability run and what fault
	// tests measure. true makes every node refuse every command
	// (CLUSTERDOWN) while any slot is unserved.
	RequireFullCoverage bool
	// Extra holds full redis.conf directive lines for every node, applied
	// after the harness's own (see StartServer). A "requirepass" applies
	// to the cluster as a whole: the harness also sets masterauth, and
	// authenticates redis-cli and its own queries.
	Extra []string
}

const (
	defaultClusterMasters     = 3
	defaultClusterNodeTimeout = 2 * time.Second
	minClusterNodeTimeout     = 100 * time.Millisecond
)

// validate reports the first field that StartCluster cannot honour.
func (cfg ClusterConfig) validate() error {
	var errs []error
	if cfg.Masters < 0 || cfg.Masters > 0 && cfg.Masters < defaultClusterMasters {
		errs = append(errs, fmt.Errorf("ClusterConfig.Masters = %d: a cluster needs at least %d masters (0 means %d)", cfg.Masters, defaultClusterMasters, defaultClusterMasters))
	}
	if cfg.ReplicasPerMaster < 0 {
		errs = append(errs, fmt.Errorf("ClusterConfig.ReplicasPerMaster = %d: must not be negative", cfg.ReplicasPerMaster))
	}
	if t := cfg.NodeTimeout; t != 0 && (t < minClusterNodeTimeout || t%time.Millisecond != 0) {
		errs = append(errs, fmt.Errorf("ClusterConfig.NodeTimeout = %v: must be a whole number of milliseconds, at least %v (0 means %v)", t, minClusterNodeTimeout, defaultClusterNodeTimeout))
	}
	return errors.Join(errs...)
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg ClusterConfig) withDefaults() ClusterConfig {
	if cfg.Masters == 0 {
		cfg.Masters = defaultClusterMasters
	}
	if cfg.NodeTimeout == 0 {
		cfg.NodeTimeout = defaultClusterNodeTimeout
	}
	return cfg
}

// nodeConfig returns the redis.conf lines of every node. The nodes.conf of
// each node lives in its own directory, where Restart finds it again.
func (cfg ClusterConfig) nodeConfig() []string {
	lines := []string{
		"cluster-enabled yes",
		"cluster-config-file nodes.conf",
		fmt.Sprintf("cluster-node-timeout %d", cfg.NodeTimeout.Milliseconds()),
		"cluster-require-full-coverage " + yesNo(cfg.RequireFullCoverage),
		// A replica must have synced before it can take over; without
		// this the master waits 5 s for more replicas before sending
		// its first snapshot.
		"repl-diskless-sync-delay 0",
	}
	if pw := passwordFrom(cfg.Extra); pw != "" {
		lines = append(lines, "masterauth "+quoteArg(pw))
	}
	return append(lines, cfg.Extra...)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
