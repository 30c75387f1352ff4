package redisguard

import (
	"net"
	"syscall"
	"testing"
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
	n := &node{}
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
