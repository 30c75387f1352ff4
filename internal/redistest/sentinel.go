package redistest

import (
	"fmt"
	"testing"
)

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on a free
// loopback port that monitors master under masterName with a quorum of one, and
// declares it down after one second without an answer. It is a *Server: Kill,
// Stop, Continue and Restart work on it as on a data server.
func StartSentinel(t testing.TB, masterName string, master *Server) *Server {
	t.Helper()
	return start(t, []string{
		fmt.Sprintf("sentinel monitor %s %s %d 1", masterName, loopbackHost, master.Port()),
		fmt.Sprintf("sentinel down-after-milliseconds %s 1000", masterName),
		fmt.Sprintf("sentinel failover-timeout %s 2000", masterName),
	}, "--sentinel")
}
