package redistest

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// FakeServer is a tiny RESP server of the test's own, which answers as a
// broken or hostile server would, where a real redis-server cannot: a reply
// over the limits, a refusal quoting the client's credentials, an INFO full
// of escape sequences. Its answer function decides the reply to each command.
type FakeServer struct {
	ln       net.Listener
	answer   func(conn int, cmd []string, w *bufio.Writer) bool
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// StartFakeServer listens on a free loopback port until the test ends.
// answer gets the connection's number (from 1, in the order accepted) and
// each command read from it (its name in upper case, then its arguments),
// and writes the reply to w, which is flushed after it returns; returning
// false, or a command that is not an array of bulk strings (or an empty
// one), closes the connection. t.Cleanup closes every connection and waits
// for their goroutines.
func StartFakeServer(t testing.TB, answer func(conn int, cmd []string, w *bufio.Writer) bool) *FakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &FakeServer{ln: ln, answer: answer, conns: make(map[net.Conn]struct{})}
	s.wg.Go(s.serve)
	t.Cleanup(s.close)
	return s
}

// Addr returns the server's host:port.
func (s *FakeServer) Addr() string { return s.ln.Addr().String() }

// Accepted returns how many connections the server has accepted.
func (s *FakeServer) Accepted() int64 { return s.accepted.Load() }

func (s *FakeServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		id := int(s.accepted.Add(1))
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				conn.Close()
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
			}()
			r := bufio.NewReader(conn)
			w := bufio.NewWriterSize(conn, 64<<10)
			for {
				cmd, err := readCommand(r)
				if err != nil || len(cmd) == 0 || !s.answer(id, cmd, w) || w.Flush() != nil {
					return
				}
			}
		})
	}
}

func (s *FakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readCommand reads one command, an array of bulk strings, as clients send.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil {
		return nil, err
	}
	cmd := make([]string, 0, n)
	for range n {
		if line, err = r.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		cmd = append(cmd, string(b[:size]))
	}
	if len(cmd) > 0 {
		cmd[0] = strings.ToUpper(cmd[0])
	}
	return cmd, nil
}

// HelloReply is a Redis 7 server's answer to HELLO 3.
const HelloReply = "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n" +
	"$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"

// AnswerHandshake answers what go-redis sends while it sets up a connection
// (HELLO, CLIENT SETINFO, SELECT, AUTH) and PING as a healthy server does,
// and reports whether cmd was one of them.
func AnswerHandshake(cmd []string, w *bufio.Writer) bool {
	switch cmd[0] {
	case "HELLO":
		w.WriteString(HelloReply)
	case "CLIENT", "SELECT", "AUTH":
		w.WriteString("+OK\r\n")
	case "PING":
		w.WriteString("+PONG\r\n")
	default:
		return false
	}
	return true
}
