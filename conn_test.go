package redisguard

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// go-redis peeks at a TCP connection through SyscallConn for a dead idle
// one; it must not find SyscallConn on a connection without a file
// descriptor of its own (TLS), whose record layer it would peek under.
func TestWrappedConnShowsSyscallConnOnlyWithAFileDescriptor(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	n := &node{c: &Client{}}
	sys, ok := n.wrapConn(tcp, 0).(syscall.Conn)
	if !ok {
		t.Fatal("a wrapped TCP connection hides SyscallConn")
	}
	if _, err := sys.SyscallConn(); err != nil {
		t.Fatalf("SyscallConn of a wrapped TCP connection: %v", err)
	}

	piped, other := net.Pipe()
	defer piped.Close()
	defer other.Close()
	wrapped := n.wrapConn(piped, 0)
	if _, ok := wrapped.(syscall.Conn); ok {
		t.Fatal("a wrapped connection without a file descriptor shows SyscallConn")
	}
	under, ok := wrapped.(interface{ NetConn() net.Conn })
	if !ok || under.NetConn() != piped {
		t.Fatal("NetConn does not return the connection underneath")
	}
}

// The server's time is judged from the write, to an eighth of the threshold
// in the server's favour: a reply under the threshold is never slow, however
// many ticks of the node's reply clock it spans, and one well over it always
// is.
func TestConnJudgesTheServersTimeFromTheWrite(t *testing.T) {
	const threshold = 80 * time.Millisecond // the reply clock ticks every 10 ms
	settings := breaker.Settings{SlowCallThreshold: threshold, ConsecutiveFailures: 1000, MinRequests: 1000}
	c := newClient(nil, config{queueLimit: 10, breaker: &settings}, retryPolicy{})
	defer c.cancel()
	n := newNode(c, "pipe", nil, 3*time.Second, 1)
	defer n.replies.Stop()
	if _, ok := c.queue.TakeOne(); !ok { // a command in flight: the clock ticks
		t.Fatal("no queue slot")
	}

	client, server := net.Pipe()
	defer server.Close()
	conn := n.wrapConn(client, n.gen.Load())
	defer conn.Close()
	delays := make(chan time.Duration)
	go func() {
		var buf [64]byte
		for delay := range delays {
			if _, err := server.Read(buf[:]); err != nil {
				return
			}
			time.Sleep(delay)
			if _, err := server.Write([]byte("+OK\r\n")); err != nil {
				return
			}
		}
	}()
	defer close(delays)
	ping := func(delay time.Duration) {
		t.Helper()
		delays <- delay
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		var buf [16]byte
		if _, err := conn.Read(buf[:]); err != nil {
			t.Fatal(err)
		}
	}

	b := n.breaker.Load()
	for _, delay := range []time.Duration{0, 25 * time.Millisecond, 30 * time.Millisecond, 0} {
		ping(delay)
	}
	if got := b.Counts(); got.TotalFailures != 0 || got.TotalSuccesses != 4 {
		t.Fatalf("replies under the threshold counted %d successes and %d failures, want 4 and 0", got.TotalSuccesses, got.TotalFailures)
	}
	for range 2 {
		ping(threshold + threshold/8 + 50*time.Millisecond)
	}
	if got := b.Counts(); got.TotalFailures != 2 || got.TotalSuccesses != 4 {
		t.Fatalf("after two replies well over the threshold: %d successes and %d failures, want 4 and 2", got.TotalSuccesses, got.TotalFailures)
	}
}
func TestJudgeLimitFollowsReadTimeout(t *testing.T) {
	for _, tc := range []struct {
		readTimeout, want time.Duration
	}{
		{2 * time.Second, 2 * time.Second},
		{0, 30 * time.Second}, // go-redis waits without a deadline
		{-1, 0},               // go-redis sets no deadline: nothing is judged
		{-2, 0},
	} {
		if got := judgeLimit(tc.readTimeout); got != tc.want {
			t.Errorf("judgeLimit(%v) = %v, want %v", tc.readTimeout, got, tc.want)
		}
	}
}
