package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	// okTimeout bounds anything expected to succeed; generous so that a
	// loaded machine does not make the tests flaky.
	okTimeout = 5 * time.Second
	// stallTimeout is how long a test waits for a reply it expects never
	// to come.
	stallTimeout = 300 * time.Millisecond
)

// respConn is a raw RESP connection, so that tests see exactly what does
// or does not reach a client, without a client library's retries, pooling
// or handshake in between.
type respConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRESP(t *testing.T, addr string) *respConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp4", addr, okTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &respConn{conn: conn, r: bufio.NewReader(conn)}
}

// do sends one command and returns the first line of its reply, which is
// the whole reply for the simple-string, error and integer replies the
// tests use.
func (c *respConn) do(timeout time.Duration, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, arg := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(arg), arg)
	}
	if err := c.conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return c.readLine(timeout)
}

// readLine returns the next reply line, without its CRLF.
func (c *respConn) readLine(timeout time.Duration) (string, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	return strings.TrimSuffix(line, "\r\n"), err
}

// mustPing fails the test unless c answers PING.
func (c *respConn) mustPing(t *testing.T) {
	t.Helper()
	reply, err := c.do(okTimeout, "PING")
	if err != nil || reply != "+PONG" {
		t.Fatalf("PING = %q, %v; want +PONG", reply, err)
	}
}

// mustStall fails the test unless c's PING goes unanswered.
func (c *respConn) mustStall(t *testing.T) {
	t.Helper()
	reply, err := c.do(stallTimeout, "PING")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("PING = %q, %v; want no answer within %v", reply, err, stallTimeout)
	}
}
