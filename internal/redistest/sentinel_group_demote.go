package redistest

import (
	"fmt"
	"strconv"
	"testing"
)

// RestartAsReplica restarts s as a replica of the master the Sentinels name
// now, the way orchestrators bring back a failed master: a replicaof line
// is added to its config file first, so that the Sentinels see a replica
// from its first answer and WaitSettled returns within a few seconds. A
// plain Restart brings a failed-over master back as a master, which the
// Sentinels turn into a replica only 10 to 20 s later (they ask a server
// for INFO every 10 s, then leave it 8 s). It fails the test when s is the
// master the Sentinels name.
func (g *SentinelGroup) RestartAsReplica(t testing.TB, s *Server) {
	t.Helper()
	g.serverIndex(t, s)
	master := g.Master()
	if master == s {
		t.Fatalf("redistest: RestartAsReplica: the Sentinels name %s as the master", s.Addr())
	}
	s.Kill()
	line := fmt.Sprintf("replicaof %s %d", loopbackHost, master.Port())
	if err := s.appendConfig(line); err != nil {
		t.Fatalf("redistest: RestartAsReplica: %v", err)
	}
	s.Restart()
}

// Demote makes s a replica of the master the Sentinels name now (REPLICAOF,
// then CONFIG REWRITE so that it stays one across restarts), and returns
// once s says it is one. This is what the Sentinels do to a master that
// is back after its failover (resumed after Stop, or restarted), 10 to 20 s
// later; Demote does it at once, for a test to choose when clients of the
// old master start getting READONLY. The Sentinels still take up to 10 s
// to see s as a healthy replica, which WaitSettled waits for. It fails the
// test when s is the master the Sentinels name.
func (g *SentinelGroup) Demote(t testing.TB, s *Server) {
	t.Helper()
	i := g.serverIndex(t, s)
	master := g.Master()
	if master == s {
		t.Fatalf("redistest: Demote: the Sentinels name %s as the master", s.Addr())
	}
	ctx, cancel := adminContext()
	defer cancel()
	admin := g.serverAdmin[i]
	if err := admin.ReplicaOf(ctx, loopbackHost, strconv.Itoa(master.Port())).Err(); err != nil {
		t.Fatalf("redistest: Demote: REPLICAOF on %s: %v", s.Addr(), err)
	}
	if err := admin.ConfigRewrite(ctx).Err(); err != nil {
		t.Fatalf("redistest: Demote: CONFIG REWRITE on %s: %v", s.Addr(), err)
	}
	if problem := g.roleProblem(s, "slave"); problem != "" {
		t.Fatalf("redistest: Demote: %s", problem)
	}
}
