package doctor

import (
	"fmt"
	"math"
	"net"
	"time"
)

// The check IDs. They never change: scripts and alerts may match on them.
const (
	IDAuth              = "auth"
	IDTLS               = "tls"
	IDProtectedMode     = "protected-mode"
	IDBind              = "bind"
	IDDangerousCommands = "dangerous-commands"
	IDMaxmemory         = "maxmemory"
	IDEvictionPolicy    = "eviction-policy"
	IDMemoryUsage       = "memory-usage"
	IDFragmentation     = "fragmentation"
	IDPersistence       = "persistence"
	IDReplication       = "replication"
	IDMaxclients        = "maxclients"
	IDTimeout           = "timeout"
	IDSlowlog           = "slowlog"
	IDLatency           = "latency"
	IDHitRate           = "hit-rate"
	IDVersion           = "version"
)

// checks are every check, in the order of the report.
var checks = []func(*facts) Check{
	checkAuth,
	checkTLS,
	checkProtectedMode,
	checkBind,
	checkDangerousCommands,
	checkMaxmemory,
	checkEvictionPolicy,
	checkMemoryUsage,
	checkFragmentation,
	checkPersistence,
	checkReplication,
	checkMaxclients,
	checkTimeout,
	checkSlowlog,
	checkLatency,
	checkHitRate,
	checkVersion,
}

// evaluate runs every check on f.
func evaluate(f *facts) []Check {
	out := make([]Check, 0, len(checks))
	for _, check := range checks {
		f.unreadable = "" // a reason given by one check only
		out = append(out, check(f))
	}
	return out
}

func pass(id, detail string) Check {
	return Check{ID: id, Status: Pass, Detail: detail}
}

func warn(id, detail, advice string) Check {
	return Check{ID: id, Status: Warn, Detail: detail, Advice: advice}
}

func fail(id, detail, advice string) Check {
	return Check{ID: id, Status: Fail, Detail: detail, Advice: advice}
}

func skip(id, why string) Check {
	return Check{ID: id, Status: Skip, Detail: why}
}

// bytesText formats a size as Redis's INFO *_human fields do, in binary units.
func bytesText(n float64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	exp := min(int(math.Log(n)/math.Log(unit)), 4)
	v := n / math.Pow(unit, float64(exp))
	suffix := []string{"", "KiB", "MiB", "GiB", "TiB"}[exp]
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// percent formats a ratio as a whole percentage.
func percent(ratio float64) string {
	return fmt.Sprintf("%.0f %%", ratio*100)
}

// roundDuration keeps two significant places of small durations and
// milliseconds of large ones.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// hostOf returns the host of a host:port address, or addr itself.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
