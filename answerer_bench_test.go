package redisguard

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkClientCPU measures what a GET costs the client's own code, without
// the network or a server: every connection is an in-memory answerer. What
// the network benchmarks cannot resolve (the machine's noise is larger than
// the guard's cost there) this one can, and it runs both clients in the same
// process: compare them with -count and benchstat.
func BenchmarkClientCPU(b *testing.B) {
	for _, g := range []int{1, 2, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			b.Run("client=plain", func(b *testing.B) {
				rdb := redis.NewClient(&redis.Options{Addr: "answerer:6379", Dialer: dialAnswerer})
				b.Cleanup(func() { rdb.Close() })
				benchmarkGets(b, rdb, g)
			})
			b.Run("client=guarded", func(b *testing.B) {
				c := newTestClient(b, Options{Redis: &redis.UniversalOptions{Addrs: []string{"answerer:6379"}, Dialer: dialAnswerer}})
				benchmarkGets(b, c, g)
			})
		})
	}
}

func dialAnswerer(context.Context, string, string) (net.Conn, error) {
	a := &answerer{}
	a.ready = sync.NewCond(&a.mu)
	return a, nil
}

// answerer is a connection to a pretend server that answers every command at
// once: HELLO with an error (RESP2), GET with "value", anything else with OK.
type answerer struct {
	mu     sync.Mutex
	ready  *sync.Cond
	in     []byte
	out    []byte
	closed bool
}

func (a *answerer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, net.ErrClosed
	}
	a.in = append(a.in, p...)
	for {
		name, rest, ok := firstCommand(a.in)
		if !ok {
			break
		}
		a.in = rest
		switch name {
		case "hello":
			a.out = append(a.out, "-ERR unknown command 'HELLO'\r\n"...)
		case "get":
			a.out = append(a.out, "$5\r\nvalue\r\n"...)
		case "ping":
			a.out = append(a.out, "+PONG\r\n"...)
		default:
			a.out = append(a.out, "+OK\r\n"...)
		}
	}
	a.ready.Broadcast()
	return len(p), nil
}

// firstCommand parses the RESP array b starts with, returning the command's
// name in lower case and what follows it.
func firstCommand(b []byte) (name string, rest []byte, ok bool) {
	line, b, ok := bytes.Cut(b, []byte("\r\n"))
	if !ok || len(line) < 2 || line[0] != '*' {
		return "", nil, false
	}
	n, _ := strconv.Atoi(string(line[1:]))
	for i := range n {
		line, b, ok = bytes.Cut(b, []byte("\r\n"))
		if !ok || len(line) < 2 {
			return "", nil, false
		}
		size, _ := strconv.Atoi(string(line[1:]))
		if len(b) < size+2 {
			return "", nil, false
		}
		if i == 0 {
			name = string(bytes.ToLower(b[:size]))
		}
		b = b[size+2:]
	}
	return name, b, true
}

func (a *answerer) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.out) == 0 && !a.closed {
		a.ready.Wait()
	}
	if a.closed {
		return 0, net.ErrClosed
	}
	n := copy(p, a.out)
	a.out = a.out[n:]
	return n, nil
}

func (a *answerer) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.ready.Broadcast()
	return nil
}

func (a *answerer) LocalAddr() net.Addr              { return answererAddr{} }
func (a *answerer) RemoteAddr() net.Addr             { return answererAddr{} }
func (a *answerer) SetDeadline(time.Time) error      { return nil }
func (a *answerer) SetReadDeadline(time.Time) error  { return nil }
func (a *answerer) SetWriteDeadline(time.Time) error { return nil }

// SyscallConn makes the answerer stand for a TCP connection, the common case,
// which go-redis peeks at for a dead idle connection before each command. The
// peek finds nothing to read, as on a healthy connection, without a syscall.
func (a *answerer) SyscallConn() (syscall.RawConn, error) { return idleRawConn{}, nil }

// idleRawConn is the file descriptor of a connection with nothing to read.
type idleRawConn struct{}

func (idleRawConn) Control(func(fd uintptr)) error    { return nil }
func (idleRawConn) Read(func(fd uintptr) bool) error  { return nil }
func (idleRawConn) Write(func(fd uintptr) bool) error { return nil }

type answererAddr struct{}

func (answererAddr) Network() string { return "tcp" }
func (answererAddr) String() string  { return "answerer:6379" }
