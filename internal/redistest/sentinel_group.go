package redistest

import (
	"fmt"
	"slices"
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
	if problem := poll(sentinelGroupTimeout, func() string { return g.replicationProblem(master) }); problem != "" {
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

// serverIndex returns s's position in g.servers, failing t when s is not
// a master or replica of the group.
func (g *SentinelGroup) serverIndex(t testing.TB, s *Server) int {
	t.Helper()
	i := slices.Index(g.servers, s)
	if i < 0 {
		t.Fatalf("redistest: %s is not a server of this Sentinel group", s.Addr())
	}
	return i
}

// logTails returns the tail of every process's log, for failure messages.
func (g *SentinelGroup) logTails() string {
	var b strings.Builder
	for _, s := range slices.Concat(g.servers, g.sentinels) {
		fmt.Fprintf(&b, "\n[%s] %s", s.Addr(), s.logTail(clusterLogTailLines))
	}
	return b.String()
}
