package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// mustRefuse fails the test unless connecting to addr is refused.
func mustRefuse(t *testing.T, addr string) {
	t.Helper()
	if err := refused(addr); err != nil {
		t.Fatal(err)
	}
}

// errConnected is refused's error when a dial connected to a listener.
var errConnected = errors.New("connected")

// refused returns nil when connecting to addr is refused.
func refused(addr string) error {
	for range 3 {
		conn, err := net.DialTimeout("tcp4", addr, okTimeout)
		if err == nil {
			self := conn.LocalAddr().String() == conn.RemoteAddr().String()
			_ = conn.Close()
			if self {
				// Nothing listens on addr, a port of the ephemeral range,
				// and the kernel gave the dial that port as its own: a
				// TCP self-connection, which is as good as a refusal.
				continue
			}
			return fmt.Errorf("dial %s: %w; want connection refused", addr, errConnected)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("dial %s: %v; want connection refused", addr, err)
		}
		return nil
	}
	return nil
}

func TestServerKillAndRestart(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	if want := "127.0.0.1:" + strconv.Itoa(s.Port()); s.Addr() != want {
		t.Fatalf("Addr = %q, want %q", s.Addr(), want)
	}
	if s.Port() == reservedPort {
		t.Fatalf("server uses the reserved port %d", reservedPort)
	}
	if err := s.Client(t).Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}

	port := s.Port()
	s.Kill()
	mustRefuse(t, s.Addr())
	s.Kill() // killing a dead server is a no-op

	s.Restart()
	if s.Port() != port {
		t.Fatalf("restarted on port %d, want %d", s.Port(), port)
	}
	client := s.Client(t)
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if err := client.Get(t.Context(), "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k after Restart: %v; want redis.Nil, the data should be gone", err)
	}

	s.Restart() // restarting a running server kills it first
	dialRESP(t, s.Addr()).mustPing(t)
}

func TestServerRestartWaitsForPort(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	s.Kill()
	// Someone else holds the port for a while; Restart must keep trying.
	squatter, err := listenLoopback(s.Port())
	if err != nil {
		t.Fatalf("listen on the killed server's port: %v", err)
	}
	release := time.AfterFunc(300*time.Millisecond, func() { _ = squatter.Close() })
	defer release.Stop()

	s.Restart()
	dialRESP(t, s.Addr()).mustPing(t)
}

func TestStartServerReportsLog(t *testing.T) {
	t.Parallel()
	r := recordGiveUp(t, func(tb testing.TB) { StartServer(tb, "no-such-directive yes") })
	// Redis explains the config error on its output, which the failure
	// must show.
	if !strings.Contains(r.failed, "Bad directive") {
		t.Fatalf("failure = %q; want it to include redis-server's complaint", r.failed)
	}
}

func TestServerStopAndContinue(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	s.Stop()
	// The kernel completes the handshake into the backlog, but nothing
	// answers.
	conn := dialRESP(t, s.Addr())
	conn.mustStall(t)

	s.Continue()
	if reply, err := conn.readLine(okTimeout); err != nil || reply != "+PONG" {
		t.Fatalf("reply to the PING sent while stopped = %q, %v; want +PONG", reply, err)
	}
	conn.mustPing(t)
}

func TestServerKillWhileStopped(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	s.Stop()
	s.Kill()
	mustRefuse(t, s.Addr())
}

func TestServerAppliesConfig(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "maxmemory 10mb")
	got, err := s.Client(t).ConfigGet(t.Context(), "maxmemory").Result()
	if err != nil {
		t.Fatalf("CONFIG GET maxmemory: %v", err)
	}
	if got["maxmemory"] != "10485760" {
		t.Fatalf("maxmemory = %q, want 10485760", got["maxmemory"])
	}
}

func TestServerRequirePass(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "requirepass s3cret")
	if err := s.Client(t).Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING with the configured password: %v", err)
	}
	reply, err := dialRESP(t, s.Addr()).do(okTimeout, "PING")
	if err != nil || !strings.HasPrefix(reply, "-NOAUTH") {
		t.Fatalf("unauthenticated PING = %q, %v; want -NOAUTH", reply, err)
	}
}

func TestSentinelKnowsItsMaster(t *testing.T) {
	master := StartServer(t)
	sentinel := StartSentinel(t, "mymaster", master)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr()})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(context.Background(), "mymaster").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := addr[0] + ":" + addr[1]; got != master.Addr() {
		t.Fatalf("sentinel reports master %s, want %s", got, master.Addr())
	}
}

func TestRunEndlessScriptMakesTheServerBusyUntilStopped(t *testing.T) {
	srv := StartServer(t)
	c := srv.Client(t)
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	stop := srv.RunEndlessScript(t)
	if err := c.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "BUSY") {
		t.Fatalf("GET while the script runs: %v, want BUSY", err)
	}
	stop()
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET once the script was killed: %v, want redis.Nil", err)
	}
}
