package redistest

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelGroupTimeout bounds the wait for a new group to be ready:
// replicas synced and Sentinels aware of every replica and of each other,
// which Sentinels learn from hello messages sent every 2 s.
const sentinelGroupTimeout = 30 * time.Second

// SentinelGroup is a Sentinel deployment owned by one test: a master,
// replicas replicating it, and Sentinels that watch it, know each other
// and know every replica. Every process is a *Server: Kill, Stop,
// Continue and Restart work on each, and a restarted server or Sentinel
// keeps its config file as it last rewrote it, as a real host would.
//
// Which server is the master changes with failovers, so Master and
// Replicas ask the Sentinels every time. Methods that can fail the test
// follow the rules of t.Fatal; the Wait methods take the test to fail.
type SentinelGroup struct {
	t             testing.TB
	cfg           SentinelConfig
	servers       []*Server // the first master first
	sentinels     []*Server
	serverAdmin   []*redis.Client
	sentinelAdmin []*redis.SentinelClient
}

// StartSentinelGroup starts a master, cfg.Replicas replicas of it and
// cfg.Sentinels Sentinels watching it, each on a free loopback port in a
// t.TempDir() of its own, and returns once every replica has synced and
// every Sentinel knows every replica and every other Sentinel, so that a
// failover can start at once. It fails the test after about 30 s, with
// what was still missing and the tail of every log. A missing
// redis-server skips the test, or fails it when REDISGUARD_REQUIRE_REDIS=1.
// t.Cleanup kills every process.
func StartSentinelGroup(t testing.TB, cfg SentinelConfig) *SentinelGroup {
	t.Helper()
	RedisServerPath(t)
	if err := cfg.validate(); err != nil {
		t.Fatalf("redistest: StartSentinelGroup: %v", err)
	}
	cfg = cfg.withDefaults()
	g := &SentinelGroup{t: t, cfg: cfg}
	t.Cleanup(g.closeAdmin)

	master := g.startServer(cfg.dataConfig(nil))
	for range cfg.Replicas {
		g.startServer(cfg.dataConfig(master))
	}
	// Sentinels learn the replicas from the master's INFO, which they ask
	// for at once on connecting and then only every 10 s: start them
	// once the master lists every replica.
	if problem := poll(sentinelGroupTimeout, g.replicationProblem); problem != "" {
		t.Fatalf("redistest: StartSentinelGroup: replicas not synced within %v: %s%s", sentinelGroupTimeout, problem, g.logTails())
	}
	for range cfg.Sentinels {
		s := startSentinel(t, cfg.sentinelLines(master))
		g.sentinels = append(g.sentinels, s)
		g.sentinelAdmin = append(g.sentinelAdmin, redis.NewSentinelClient(adminOptions(s)))
	}
	if problem := poll(sentinelGroupTimeout, g.settledProblem); problem != "" {
		t.Fatalf("redistest: StartSentinelGroup: Sentinels not ready within %v: %s%s", sentinelGroupTimeout, problem, g.logTails())
	}
	return g
}

// startServer starts a master or replica of the group.
func (g *SentinelGroup) startServer(config []string) *Server {
	g.t.Helper()
	s := newServer(g.t, config)
	s.keepConfig = true
	s.startOn(freePort)
	g.servers = append(g.servers, s)
	g.serverAdmin = append(g.serverAdmin, redis.NewClient(adminOptions(s)))
	return s
}

func (g *SentinelGroup) closeAdmin() {
	for _, c := range g.serverAdmin {
		_ = c.Close() // fails only when already closed
	}
	for _, c := range g.sentinelAdmin {
		_ = c.Close()
	}
}

// MasterName returns the name the Sentinels know the master by.
func (g *SentinelGroup) MasterName() string {
	return g.cfg.MasterName
}

// Servers returns the master and the replicas, the first master first,
// whatever their roles are now. The slice is the caller's.
func (g *SentinelGroup) Servers() []*Server {
	return slices.Clone(g.servers)
}

// Sentinels returns the Sentinels. The slice is the caller's.
func (g *SentinelGroup) Sentinels() []*Server {
	return slices.Clone(g.sentinels)
}

// SentinelAddrs returns the address of every Sentinel: the Addrs of a
// failover client.
func (g *SentinelGroup) SentinelAddrs() []string {
	addrs := make([]string, len(g.sentinels))
	for i, s := range g.sentinels {
		addrs[i] = s.Addr()
	}
	return addrs
}

// FailoverClient returns a plain go-redis failover client with go-redis's
// defaults, for a test to set up and check data through whichever server
// the Sentinels say is the master. t.Cleanup closes it.
func (g *SentinelGroup) FailoverClient(t testing.TB) *redis.Client {
	t.Helper()
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:       g.cfg.MasterName,
		SentinelAddrs:    g.SentinelAddrs(),
		SentinelPassword: g.sentinels[0].password,
		Password:         g.servers[0].password,
	})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// Master returns the server that most of the Sentinels that answer name as
// the master now. Until they have failed a dead master over, that is the
// dead master.
func (g *SentinelGroup) Master() *Server {
	g.t.Helper()
	votes := make(map[*Server]int)
	var best *Server
	var problems []string
	for i, s := range g.sentinels {
		if !s.answering() {
			continue
		}
		master, err := g.masterSeenBy(i)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		votes[master]++
		if best == nil || votes[master] > votes[best] {
			best = master
		}
	}
	if best == nil {
		g.t.Fatalf("redistest: no Sentinel names a master %v", problems)
	}
	return best
}

// Replicas returns the servers other than Master(), in the order of
// Servers.
func (g *SentinelGroup) Replicas() []*Server {
	g.t.Helper()
	master := g.Master()
	var replicas []*Server
	for _, s := range g.servers {
		if s != master {
			replicas = append(replicas, s)
		}
	}
	return replicas
}

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
	master := g.Master()
	if master == s {
		t.Fatalf("redistest: Demote: the Sentinels name %s as the master", s.Addr())
	}
	ctx, cancel := adminContext()
	defer cancel()
	admin := g.serverAdmin[slices.Index(g.servers, s)]
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

// WaitSettled waits until the group is whole again: every server and
// Sentinel runs and answers, the Sentinels agree on the master and see it
// up, the other servers replicate it and have synced, and every Sentinel
// sees every replica up and knows every other Sentinel. After Restart this
// is the wait for the server to have rejoined; a failed-over master comes
// back a master, and WaitSettled waits for the Sentinels to turn it into
// a replica, up to about 20 s: RestartAsReplica avoids the wait. It fails the test at once when a process is killed or stopped,
// and after timeout otherwise.
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
	if problem := g.roleProblem(master, "master"); problem != "" {
		return problem
	}
	if problem := g.replicationProblem(); problem != "" {
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

// replicationProblem says why the servers do not all replicate the first
// one that says it is a master, or returns "".
func (g *SentinelGroup) replicationProblem() string {
	var master *Server
	for _, s := range g.servers {
		if g.roleProblem(s, "master") == "" {
			master = s
			break
		}
	}
	if master == nil {
		return "no server says it is a master"
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

// logTails returns the tail of every process's log, for failure messages.
func (g *SentinelGroup) logTails() string {
	var b strings.Builder
	for _, s := range slices.Concat(g.servers, g.sentinels) {
		fmt.Fprintf(&b, "\n[%s] %s", s.Addr(), s.logTail(clusterLogTailLines))
	}
	return b.String()
}
