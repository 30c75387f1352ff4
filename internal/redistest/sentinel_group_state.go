package redistest

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"
)

// WaitSwitch waits until every Sentinel that answers names a master other
// than old, and that server reports role:master, and returns it. It fails
// the test after timeout. Sentinels other than the one that led the
// failover learn of it from hello messages, up to about 2 s later.
func (g *SentinelGroup) WaitSwitch(t testing.TB, old *Server, timeout time.Duration) *Server {
	t.Helper()
	var master *Server
	problem := poll(timeout, func() string {
		var problem string
		master, problem = g.agreedMaster()
		switch {
		case problem != "":
			return problem
		case master == old:
			return fmt.Sprintf("the Sentinels still name %s", old.Addr())
		}
		return g.roleProblem(master, "master")
	})
	if problem != "" {
		t.Fatalf("redistest: no switch from %s within %v: %s%s", old.Addr(), timeout, problem, g.logTails())
	}
	return master
}

// WaitSettled waits until the group is whole again: every server and
// Sentinel runs and answers, the Sentinels agree on the master and see it
// up, the other servers replicate it and have synced, and every Sentinel
// sees every replica up and knows every other Sentinel. After Restart this
// is the wait for the server to have rejoined; a failed-over master comes
// back a master, and WaitSettled waits for the Sentinels to turn it into
// a replica, up to about 20 s: RestartAsReplica avoids the wait. It fails
// the test at once when a process is killed or stopped, and after timeout
// otherwise.
func (g *SentinelGroup) WaitSettled(t testing.TB, timeout time.Duration) {
	t.Helper()
	for _, s := range slices.Concat(g.servers, g.sentinels) {
		if !s.answering() {
			t.Fatalf("redistest: WaitSettled: %s is killed or stopped, so the group cannot settle", s.Addr())
		}
	}
	if problem := poll(timeout, g.settledProblem); problem != "" {
		t.Fatalf("redistest: Sentinel group not settled within %v: %s%s", timeout, problem, g.logTails())
	}
}

// settledProblem says why the group is not whole and settled, or returns "".
func (g *SentinelGroup) settledProblem() string {
	master, problem := g.agreedMaster()
	if problem != "" {
		return problem
	}
	if problem := g.replicationProblem(master); problem != "" {
		return problem
	}
	ctx, cancel := adminContext()
	defer cancel()
	for i, sc := range g.sentinelAdmin {
		at := g.sentinels[i].Addr()
		state, err := sc.Master(ctx, g.cfg.MasterName).Result()
		if err != nil {
			return fmt.Sprintf("SENTINEL MASTER on %s: %v", at, err)
		}
		if state["flags"] != "master" {
			return fmt.Sprintf("Sentinel %s flags the master %s", at, state["flags"])
		}
		if want := strconv.Itoa(len(g.sentinels) - 1); state["num-other-sentinels"] != want {
			return fmt.Sprintf("Sentinel %s knows %s other Sentinels, want %s", at, state["num-other-sentinels"], want)
		}
		replicas, err := sc.Replicas(ctx, g.cfg.MasterName).Result()
		if err != nil {
			return fmt.Sprintf("SENTINEL REPLICAS on %s: %v", at, err)
		}
		if len(replicas) != len(g.servers)-1 {
			return fmt.Sprintf("Sentinel %s knows %d replicas, want %d", at, len(replicas), len(g.servers)-1)
		}
		for _, r := range replicas {
			if r["flags"] != "slave" || r["master-link-status"] != "ok" {
				return fmt.Sprintf("Sentinel %s sees replica %s:%s with flags %s, link %s", at, r["ip"], r["port"], r["flags"], r["master-link-status"])
			}
		}
	}
	return ""
}

// replicationProblem says why master is not a master replicated by every
// other server, synced, or returns "".
func (g *SentinelGroup) replicationProblem(master *Server) string {
	if problem := g.roleProblem(master, "master"); problem != "" {
		return problem
	}
	for _, s := range g.servers {
		if s == master {
			continue
		}
		if problem := g.roleProblem(s, "slave"); problem != "" {
			return problem
		}
		repl, err := g.info(s, "replication")
		if err != nil {
			return err.Error()
		}
		if port := infoField(repl, "master_port"); port != strconv.Itoa(master.Port()) || infoField(repl, "master_link_status") != "up" {
			return fmt.Sprintf("%s has not synced with the master %s (master_port:%s, master_link_status:%s)", s.Addr(), master.Addr(), port, infoField(repl, "master_link_status"))
		}
	}
	return ""
}

// agreedMaster returns the master every Sentinel names, or says why there
// is none: a Sentinel does not answer, or they disagree.
func (g *SentinelGroup) agreedMaster() (*Server, string) {
	var agreed *Server
	for i, s := range g.sentinels {
		if !s.answering() {
			continue
		}
		master, err := g.masterSeenBy(i)
		if err != nil {
			return nil, err.Error()
		}
		if agreed != nil && master != agreed {
			return nil, fmt.Sprintf("Sentinel %s names %s, another %s", s.Addr(), master.Addr(), agreed.Addr())
		}
		agreed = master
	}
	if agreed == nil {
		return nil, "no Sentinel answers"
	}
	return agreed, ""
}

// masterSeenBy returns the server that the i-th Sentinel names as master.
func (g *SentinelGroup) masterSeenBy(i int) (*Server, error) {
	ctx, cancel := adminContext()
	defer cancel()
	addr, err := g.sentinelAdmin[i].GetMasterAddrByName(ctx, g.cfg.MasterName).Result()
	if err != nil {
		return nil, fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME on %s: %w", g.sentinels[i].Addr(), err)
	}
	if len(addr) == 2 {
		for _, s := range g.servers {
			if s.Addr() == net.JoinHostPort(addr[0], addr[1]) {
				return s, nil
			}
		}
	}
	return nil, fmt.Errorf("the Sentinel on %s names %v, not a server of the group", g.sentinels[i].Addr(), addr)
}

// roleProblem says why s does not answer with role:want ("master" or
// "slave"), or returns "".
func (g *SentinelGroup) roleProblem(s *Server, want string) string {
	if !s.answering() {
		return fmt.Sprintf("%s is killed or stopped", s.Addr())
	}
	repl, err := g.info(s, "replication")
	if err != nil {
		return err.Error()
	}
	if role := infoField(repl, "role"); role != want {
		return fmt.Sprintf("%s says role:%s, want role:%s", s.Addr(), role, want)
	}
	return ""
}

// info returns s's INFO section.
func (g *SentinelGroup) info(s *Server, section string) (string, error) {
	ctx, cancel := adminContext()
	defer cancel()
	info, err := g.serverAdmin[slices.Index(g.servers, s)].Info(ctx, section).Result()
	if err != nil {
		return "", fmt.Errorf("INFO %s on %s: %w", section, s.Addr(), err)
	}
	return info, nil
}
