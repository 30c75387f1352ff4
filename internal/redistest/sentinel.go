package redistest

import (
	"fmt"
	"testing"
	"time"
)

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on a free
// loopback port that monitors master under masterName with a quorum of one, and
// declares it down after one second without an answer. It is a *Server: Kill,
// Stop, Continue and Restart work on it as on a data server, and a restarted
// Sentinel keeps the config file it rewrote, and so what it learned.
// StartSentinelGroup starts a deployment of several Sentinels and replicas.
func StartSentinel(t testing.TB, masterName string, master *Server) *Server {
	t.Helper()
	return startSentinel(t, sentinelConfig(masterName, master, 1, time.Second, 2*time.Second))
}

// sentinelConfig returns the lines of a Sentinel's config that monitors
// master under masterName.
func sentinelConfig(masterName string, master *Server, quorum int, downAfter, failoverTimeout time.Duration) []string {
	lines := []string{
		fmt.Sprintf("sentinel monitor %s %s %d %d", masterName, loopbackHost, master.Port(), quorum),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", masterName, downAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", masterName, failoverTimeout.Milliseconds()),
	}
	if master.password != "" {
		lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", masterName, quoteArg(master.password)))
	}
	return lines
}

// startSentinel starts a Sentinel with the given config lines.
func startSentinel(t testing.TB, config []string) *Server {
	t.Helper()
	s := newServer(t, config, "--sentinel")
	s.keepConfig = true
	s.startOn(freePort)
	return s
}
