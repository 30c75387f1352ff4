package redistest

import (
	"errors"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// newProxied starts a server behind a proxy.
func newProxied(t *testing.T) (*Server, *Proxy) {
	t.Helper()
	s := StartServer(t)
	return s, NewProxy(t, s.Addr())
}

// proxiedClient returns a go-redis client through p with a single pooled
// connection, so that consecutive commands share one connection.
func proxiedClient(t *testing.T, p *Proxy) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, PoolSize: 1})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestProxyPassesThrough(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	if port, err := strconv.Atoi(p.Addr()[len("127.0.0.1:"):]); err != nil || port == reservedPort {
		t.Fatalf("proxy address %q: want 127.0.0.1 and a port other than %d", p.Addr(), reservedPort)
	}
	before := time.Now()
	dialRESP(t, p.Addr()).mustPing(t)
	dialRESP(t, p.Addr()).mustPing(t)

	if got := p.Accepted(); got != 2 {
		t.Errorf("Accepted = %d, want 2", got)
	}
	times := p.AcceptTimes()
	if len(times) != 2 || times[0].Before(before) || times[1].Before(times[0]) {
		t.Errorf("AcceptTimes = %v, want two times in order after %v", times, before)
	}
	if got := p.Requests(); got != 2 {
		t.Errorf("Requests = %d, want 2", got)
	}

	client := proxiedClient(t, p)
	if err := client.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the proxy: %v", err)
	}
	if got, err := client.Get(t.Context(), "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET through the proxy = %q, %v; want v", got, err)
	}
}

func TestProxyLatency(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	const latency = 100 * time.Millisecond
	p.Latency(latency)
	start := time.Now()
	conn.mustPing(t) // an established connection is delayed too
	if rtt := time.Since(start); rtt < latency {
		t.Errorf("PING round trip with Latency(%v) took %v, want at least %v", latency, rtt, latency)
	}

	p.Heal()
	conn.mustPing(t)
}

func TestProxyBlackhole(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	p.Blackhole()
	conn.mustStall(t)
	fresh := dialRESP(t, p.Addr()) // still accepted...
	fresh.mustStall(t)             // ...but never answered
	// Nothing comes back to show that the proxy has accepted it yet.
	Eventually(t, okTimeout, "the blackholed connection to be accepted", func() bool { return p.Accepted() == 2 })
	if got := p.Requests(); got != 1 {
		t.Errorf("Requests = %d, want 1: swallowed chunks are not forwarded", got)
	}

	p.Heal()
	// The swallowed PINGs never reached the server, so both connections
	// are in step and answer the next PING.
	conn.mustPing(t)
	fresh.mustPing(t)
}

func TestProxyResetAfterWrite(t *testing.T) {
	t.Parallel()
	s, p := newProxied(t)
	client := proxiedClient(t, p)
	// Connect first, so that the client's handshake is not the chunk that
	// gets reset.
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}

	p.ResetAfterWrite(1)
	if n, err := client.Incr(t.Context(), "counter").Result(); err == nil {
		t.Fatalf("INCR through a resetting proxy = %d, want an error", n)
	}
	if got, err := s.Client(t).Get(t.Context(), "counter").Result(); err != nil || got != "1" {
		t.Fatalf("counter read from the server = %q, %v; want 1: the reset INCR was applied", got, err)
	}
	if n, err := client.Incr(t.Context(), "counter").Result(); err != nil || n != 2 {
		t.Fatalf("INCR after the reset = %d, %v; want 2", n, err)
	}
}

func TestProxyResetAfterWriteSendsRST(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	p.ResetAfterWrite(2)
	if reply, err := conn.do(okTimeout, "INCR", "n"); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("INCR = %q, %v; want connection reset", reply, err)
	}
	if reply, err := dialRESP(t, p.Addr()).do(okTimeout, "INCR", "n"); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("second INCR = %q, %v; want connection reset", reply, err)
	}
	if reply, err := dialRESP(t, p.Addr()).do(okTimeout, "INCR", "n"); err != nil || reply != ":3" {
		t.Fatalf("INCR after the armed resets = %q, %v; want :3", reply, err)
	}
	if got := p.Requests(); got != 4 {
		t.Errorf("Requests = %d, want 4: reset chunks reached the server", got)
	}
}

// mustRefuseProxy fails the test unless p holds no listener and connecting
// to its port is refused. Another listener may have taken the port since p
// let it go (the servers of every package running tests pick free ports as
// p did): that is no failure of p's.
func mustRefuseProxy(t *testing.T, p *Proxy) {
	t.Helper()
	p.mu.Lock()
	listening := p.ln != nil
	p.mu.Unlock()
	if listening {
		t.Fatalf("the proxy still listens on %s", p.Addr())
	}
	err := refused(p.Addr())
	if errors.Is(err, errConnected) {
		t.Logf("%v: another listener took the port since the proxy let it go", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestProxyRefuse(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	p.Refuse()
	mustRefuseProxy(t, p)
	if reply, err := conn.readLine(okTimeout); !errors.Is(err, io.EOF) {
		t.Fatalf("read on a connection open before Refuse = %q, %v; want EOF", reply, err)
	}

	p.Heal()
	dialRESP(t, p.Addr()).mustPing(t)
}

func TestProxyDropAll(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	p.DropAll()
	if reply, err := conn.readLine(okTimeout); !errors.Is(err, io.EOF) {
		t.Fatalf("read after DropAll = %q, %v; want EOF", reply, err)
	}
	dialRESP(t, p.Addr()).mustPing(t)
	if got := p.Accepted(); got != 2 {
		t.Errorf("Accepted = %d, want 2", got)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	t.Parallel()
	s, p := newProxied(t)
	s.Kill()
	if reply, err := dialRESP(t, p.Addr()).do(okTimeout, "PING"); err == nil {
		t.Fatalf("PING with the upstream down = %q, want the connection closed", reply)
	}
	if got := p.Accepted(); got != 1 {
		t.Errorf("Accepted = %d, want 1: a connection whose upstream is down still counts", got)
	}
}

func TestProxyClose(t *testing.T) {
	t.Parallel()
	_, p := newProxied(t)
	conn := dialRESP(t, p.Addr())
	conn.mustPing(t)

	p.Close()
	mustRefuseProxy(t, p)
	if _, err := conn.readLine(okTimeout); !errors.Is(err, io.EOF) {
		t.Fatalf("read after Close: %v; want EOF", err)
	}
	p.Close() // idempotent; t.Cleanup calls it again too
	p.Heal()  // a closed proxy stays closed
	mustRefuseProxy(t, p)
}
