package redistest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// sentinelTimeout bounds a Sentinel failover or a server's return, which
// take a few seconds with DownAfter 1 s, generously for a loaded machine.
const sentinelTimeout = 30 * time.Second

func TestSentinelGroupFailsOver(t *testing.T) {
	t.Parallel()
	started := time.Now()
	// DownAfter 3 s: with 1 s, a loaded machine (the whole suite under the
	// race detector) once kept the promoted master from answering the
	// Sentinels for a second, and they failed over again.
	g := StartSentinelGroup(t, SentinelConfig{Replicas: 2, Sentinels: 3, Quorum: 2, DownAfter: 3 * time.Second})
	t.Logf("master, 2 replicas and 3 Sentinels ready in %v", time.Since(started).Round(time.Millisecond))
	first := g.Servers()[0]
	if got := g.Master(); got != first {
		t.Fatalf("Master() = %s, want the first server %s", got.Addr(), first.Addr())
	}
	if got := g.Replicas(); !slices.Equal(got, g.Servers()[1:]) {
		t.Fatalf("Replicas() = %v, want the other servers", got)
	}

	ctx := context.Background()
	client := g.FailoverClient(t)
	if err := client.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	first.Kill()
	killed := time.Now()
	promoted := g.WaitSwitch(t, first, sentinelTimeout)
	t.Logf("every Sentinel names the promoted %s %v after the kill", promoted.Addr(), time.Since(killed).Round(time.Millisecond))
	if !slices.Contains(g.Servers()[1:], promoted) {
		t.Fatalf("promoted %s, want one of the replicas", promoted.Addr())
	}
	if g.Master() != promoted {
		t.Fatalf("Master() = %s after the switch, want %s", g.Master().Addr(), promoted.Addr())
	}
	if v, err := client.Get(ctx, "k").Result(); err != nil || v != "before" {
		t.Fatalf("GET k through the failover client = %q, %v; want the write replicated before the kill", v, err)
	}

	// The old master comes back as a replica of the promoted one.
	restarted := time.Now()
	g.RestartAsReplica(t, first)
	g.WaitSettled(t, sentinelTimeout)
	t.Logf("the old master rejoined as a replica %v after its restart", time.Since(restarted).Round(time.Millisecond))
	if g.Master() != promoted {
		t.Fatalf("Master() = %s after the old master came back, want %s", g.Master().Addr(), promoted.Addr())
	}
	if err := first.Client(t).Set(ctx, "k", "x", 0).Err(); err == nil {
		t.Fatal("the restarted old master accepted a write; want it to be a read-only replica")
	}

	// A Sentinel restarted keeps what it learned: the group settles
	// around the same master with no Sentinel counted twice.
	sentinel := g.Sentinels()[0]
	sentinel.Restart()
	restarted = time.Now()
	g.WaitSettled(t, sentinelTimeout)
	t.Logf("the group settled %v after a Sentinel's restart", time.Since(restarted).Round(time.Millisecond))
	if g.Master() != promoted {
		t.Fatalf("Master() = %s after a Sentinel restarted, want %s", g.Master().Addr(), promoted.Addr())
	}
}

func TestSentinelGroupDemote(t *testing.T) {
	t.Parallel()
	g := StartSentinelGroup(t, SentinelConfig{Replicas: 1})
	old := g.Master()
	// Paused past DownAfter, the master is failed over; resumed, it still
	// says it is a master until it is demoted.
	old.Stop()
	promoted := g.WaitSwitch(t, old, sentinelTimeout)
	if promoted != g.Servers()[1] {
		t.Fatalf("promoted %s, want the replica %s", promoted.Addr(), g.Servers()[1].Addr())
	}
	old.Continue()
	g.Demote(t, old)
	err := old.Client(t).Set(context.Background(), "k", "v", 0).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "READONLY ") {
		t.Fatalf("SET on the demoted master: %v; want READONLY", err)
	}
	r := recordGiveUp(t, func(tb testing.TB) { g.Demote(tb, promoted) })
	if !strings.Contains(r.failed, "the Sentinels name "+promoted.Addr()+" as the master") {
		t.Fatalf("Demote of the master failed with %q; want it refused", r.failed)
	}
}

func TestSentinelGroupConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  SentinelConfig
		want string
	}{
		{SentinelConfig{Replicas: -1}, "SentinelConfig.Replicas = -1"},
		{SentinelConfig{Sentinels: -1}, "SentinelConfig.Sentinels = -1"},
		{SentinelConfig{Sentinels: 3, Quorum: 4}, "SentinelConfig.Quorum = 4"},
		{SentinelConfig{Quorum: -1}, "SentinelConfig.Quorum = -1"},
		{SentinelConfig{DownAfter: 1500 * time.Microsecond}, "SentinelConfig.DownAfter = 1.5ms"},
		{SentinelConfig{FailoverTimeout: -time.Second}, "SentinelConfig.FailoverTimeout = -1s"},
		{SentinelConfig{MasterName: "my master"}, `SentinelConfig.MasterName = "my master"`},
	}
	for _, tt := range tests {
		r := recordGiveUp(t, func(tb testing.TB) { StartSentinelGroup(tb, tt.cfg) })
		if !strings.Contains(r.failed, tt.want) {
			t.Errorf("StartSentinelGroup(%+v) failed with %q; want it to name %s", tt.cfg, r.failed, tt.want)
		}
	}
}

func TestSentinelGroupWithPasswords(t *testing.T) {
	t.Parallel()
	g := StartSentinelGroup(t, SentinelConfig{
		Replicas:      1,
		Extra:         []string{"requirepass data-secret"},
		SentinelExtra: []string{"requirepass sentinel-secret"},
	})
	ctx := context.Background()
	if err := g.FailoverClient(t).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the failover client: %v", err)
	}
	for _, s := range g.Sentinels() {
		if reply, err := dialRESP(t, s.Addr()).do(okTimeout, "PING"); err != nil || !strings.HasPrefix(reply, "-NOAUTH") {
			t.Fatalf("unauthenticated PING to the Sentinel %s = %q, %v; want -NOAUTH", s.Addr(), reply, err)
		}
	}
	// The replica authenticated with the master (masterauth), and the
	// Sentinels with the servers (auth-pass) and with each other
	// (sentinel-pass), or the group would not have settled.
	old := g.Master()
	old.Kill()
	if promoted := g.WaitSwitch(t, old, sentinelTimeout); promoted != g.Servers()[1] {
		t.Fatalf("promoted %s, want the replica %s", promoted.Addr(), g.Servers()[1].Addr())
	}
}
