package wire

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// server answers what a pipe's client side writes: for each request it
// reads, it waits the delay sent on delays, then writes reply.
func server(t *testing.T, end net.Conn, reply string) chan<- time.Duration {
	t.Helper()
	delays := make(chan time.Duration)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [256]byte
		for delay := range delays {
			if _, err := end.Read(buf[:]); err != nil {
				return
			}
			time.Sleep(delay)
			if _, err := end.Write([]byte(reply)); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(delays)
		_ = end.Close()
		<-done
	})
	return delays
}

// command writes a request on conn and reads its reply, as go-redis does:
// the read deadline set after the write.
func command(conn net.Conn, request string) (string, error) {
	if _, err := conn.Write([]byte(request)); err != nil {
		return "", err
	}
	if err := conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		return "", err
	}
	var buf [64]byte
	n, err := conn.Read(buf[:])
	return string(buf[:n]), err
}

// The server's time is judged from the write, to an eighth of the threshold
// in the server's favour: a reply under the threshold is a success, however
// many ticks of the reply clock it spans, and one well over it is slow.
func TestConnJudgesTheServersTimeFromTheWrite(t *testing.T) {
	threshold := 80 * time.Millisecond // the reply clock ticks every 10 ms
	e := newEndpoint(t, &threshold)
	o := owner(e)
	client, end := net.Pipe()
	conn := Wrap(e, client, 0)
	defer conn.Close()
	delays := server(t, end, "+OK\r\n")
	ping := func(delay time.Duration) {
		t.Helper()
		delays <- delay
		if reply, err := command(conn, "*1\r\n$4\r\nPING\r\n"); err != nil || reply != "+OK\r\n" {
			t.Fatalf("PING: %q, %v", reply, err)
		}
	}
	for _, delay := range []time.Duration{0, 25 * time.Millisecond, 30 * time.Millisecond, 0} {
		ping(delay)
	}
	if got := o.breaker.Counts(); got.TotalFailures != 0 || got.TotalSuccesses != 4 || o.slow.Load() != 0 {
		t.Fatalf("replies under the threshold: counts %+v, %d slow; want 4 successes, none slow", got, o.slow.Load())
	}
	for range 2 {
		ping(threshold + threshold/8 + 50*time.Millisecond)
	}
	if got := o.breaker.Counts(); got.TotalSuccesses != 4 || o.slow.Load() != 2 {
		t.Fatalf("after two replies well over the threshold: counts %+v, %d slow; want 4 successes, 2 slow", got, o.slow.Load())
	}
	if o.accepted.Load() != 1 {
		t.Fatalf("the owner heard %d acceptances of one connection, want 1", o.accepted.Load())
	}
}

// A read deadline, which go-redis sets on the wall clock, is told long or not
// against the wall clock at the write, not against the monotonic clock that
// times replies: after the wall clock stepped forward, a slow reply to a
// command waited for no longer than ReadTimeout is still judged slow, and
// after it stepped back a blocking command's wait is still a long one.
func TestReadDeadlinesSurviveAStepOfTheWallClock(t *testing.T) {
	threshold := 80 * time.Millisecond
	for _, tc := range []struct {
		step time.Duration // of the wall clock, since the endpoint was made
		wait time.Duration // the read deadline after the write
		slow int32         // slow calls counted for a reply well over the threshold
	}{
		{step: 10 * time.Second, wait: 3 * time.Second, slow: 1},
		{step: -10 * time.Second, wait: 3*time.Second + 5*time.Second, slow: 0},
	} {
		e := newEndpoint(t, &threshold)
		e.Clock.wallNow = func() int64 { return time.Now().Add(tc.step).UnixNano() }
		client, end := net.Pipe()
		conn := Wrap(e, steppedConn{client, tc.step}, 0)
		delays := server(t, end, "+OK\r\n")
		for _, delay := range []time.Duration{0, threshold + threshold/8 + 50*time.Millisecond} {
			delays <- delay
			if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
				t.Fatal(err)
			}
			if err := conn.SetReadDeadline(time.Now().Add(tc.step + tc.wait)); err != nil {
				t.Fatal(err)
			}
			var buf [16]byte
			if _, err := conn.Read(buf[:]); err != nil {
				t.Fatal(err)
			}
		}
		if got := owner(e).slow.Load(); got != tc.slow {
			t.Errorf("wall clock stepped by %v, read deadline %v after the write: %d slow calls, want %d", tc.step, tc.wait, got, tc.slow)
		}
		conn.Close()
	}
}

// steppedConn is a connection seen from a wall clock step ahead of the
// system's: its read deadlines are on that clock.
type steppedConn struct {
	net.Conn
	step time.Duration
}

func (c steppedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(t.Add(-c.step))
}

// The replies to the commands that set a connection up are not successes:
// a server that answers handshakes but no command must not look healthy.
func TestSetupRepliesAreNotSuccesses(t *testing.T) {
	threshold := 80 * time.Millisecond
	e := newEndpoint(t, &threshold)
	o := owner(e)
	client, end := net.Pipe()
	conn := Wrap(e, client, 0)
	defer conn.Close()
	delays := server(t, end, "+OK\r\n")
	delays <- 0
	if _, err := command(conn, "*2\r\n$5\r\nhello\r\n$1\r\n3\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := o.breaker.Counts(); got.TotalSuccesses != 0 || o.accepted.Load() != 0 {
		t.Fatalf("after a setup command: counts %+v, %d accepted; want none", got, o.accepted.Load())
	}
	delays <- 0
	if _, err := command(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := o.breaker.Counts(); got.TotalSuccesses != 1 || o.accepted.Load() != 1 {
		t.Fatalf("after the first command: counts %+v, %d accepted; want one success, accepted", got, o.accepted.Load())
	}
}

// A connection closed with a reply pending (its caller gave up) is drained
// until the threshold: a reply by then gives its dial back, is heard as the
// server answering and asks the owner for a replacement; none is one slow
// call. Closed with no reply pending, it gives its dial back at once.
func TestAbandonedRepliesAreDrained(t *testing.T) {
	threshold := 200 * time.Millisecond
	for _, tc := range []struct {
		name            string
		delay           time.Duration
		refunds, answer int32
		replaced, slow  int32
	}{
		{"answered in time", 20 * time.Millisecond, 1, 1, 1, 0},
		{"never answered", time.Hour, 0, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, &threshold)
			o := owner(e)
			client, end := net.Pipe()
			conn := Wrap(e, client, 0)
			go func() {
				var buf [64]byte
				if _, err := end.Read(buf[:]); err != nil {
					return
				}
				select {
				case <-time.After(tc.delay):
					_, _ = end.Write([]byte("+OK\r\n"))
				case <-t.Context().Done():
				}
			}()
			t.Cleanup(func() { _ = end.Close() })
			if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
				t.Fatal(err)
			}
			if err := conn.Close(); err != nil { // the caller's deadline passed
				t.Fatal(err)
			}
			redistest.Eventually(t, 5*time.Second, "the drain done", func() bool {
				return o.replaced.Load()+o.slow.Load() > 0 // each the drain's last report
			})
			if o.refunds.Load() != tc.refunds || o.answered.Load() != tc.answer || o.replaced.Load() != tc.replaced || o.slow.Load() != tc.slow || o.closed.Load() != 1 {
				t.Fatalf("refunds %d, answered %d, replaced %d, slow %d, closed %d; want %d, %d, %d, %d, 1",
					o.refunds.Load(), o.answered.Load(), o.replaced.Load(), o.slow.Load(), o.closed.Load(), tc.refunds, tc.answer, tc.replaced, tc.slow)
			}
		})
	}

	e := newEndpoint(t, &threshold)
	client, end := net.Pipe()
	defer end.Close()
	if err := Wrap(e, client, 0).Close(); err != nil {
		t.Fatal(err)
	}
	if o := owner(e); o.refunds.Load() != 1 || o.opened.Load() != 1 || o.closed.Load() != 1 || o.replaced.Load() != 0 {
		t.Fatalf("a clean close: refunds %d, opened %d, closed %d, replaced %d; want 1, 1, 1, 0", o.refunds.Load(), o.opened.Load(), o.closed.Load(), o.replaced.Load())
	}
}

// A connection that served, whose caller's deadline had passed before its
// next request was written, closes clean: its dial is given back and the
// owner asked for a replacement. One that never served (the server may not
// have taken it) or whose write failed otherwise is not replaced.
func TestUnusedConnectionIsReplaced(t *testing.T) {
	threshold := 200 * time.Millisecond
	for _, tc := range []struct {
		name     string
		served   bool
		broken   bool // the peer is gone: the write fails at once, not on its deadline
		replaced int32
	}{
		{"served, deadline passed", true, false, 1},
		{"never served, deadline passed", false, false, 0},
		{"served, peer gone", true, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, &threshold)
			o := owner(e)
			client, end := net.Pipe()
			defer end.Close()
			conn := Wrap(e, client, 0)
			ping := []byte("*1\r\n$4\r\nPING\r\n")
			if tc.served {
				go func() {
					var buf [64]byte
					if _, err := end.Read(buf[:]); err == nil {
						_, _ = end.Write([]byte("+PONG\r\n"))
					}
				}()
				if _, err := conn.Write(ping); err != nil {
					t.Fatal(err)
				}
				var buf [16]byte
				if _, err := conn.Read(buf[:]); err != nil {
					t.Fatal(err)
				}
			}
			if tc.broken {
				_ = end.Close()
			} else if err := conn.SetWriteDeadline(time.Now().Add(-time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(ping); err == nil {
				t.Fatal("the write succeeded")
			}
			if err := conn.Close(); err != nil {
				t.Fatal(err)
			}
			if o.replaced.Load() != tc.replaced || o.refunds.Load() != tc.replaced {
				t.Fatalf("replaced %d, refunds %d; want %d each", o.replaced.Load(), o.refunds.Load(), tc.replaced)
			}
		})
	}
}

// A reply whose header declares more than the limits is refused before its
// bytes reach the reader, naming the server and the limit, and so is every
// read after it.
func TestRepliesOverTheLimitsAreRefused(t *testing.T) {
	e := newEndpoint(t, nil)
	client, end := net.Pipe()
	conn := Wrap(e, client, 0)
	defer conn.Close()
	delays := server(t, end, "$1000\r\n")
	delays <- 0
	reply, err := command(conn, "*2\r\n$3\r\nget\r\n$1\r\nk\r\n")
	if !errors.Is(err, ErrReplyTooLarge) || reply != "" || !strings.Contains(err.Error(), "pipe") || !strings.Contains(err.Error(), "MaxReplyBulkBytes") {
		t.Fatalf("a bulk string over the limit: %q, %v", reply, err)
	}
	var buf [16]byte
	if n, err := conn.Read(buf[:]); n != 0 || !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("the read after the refusal: %d bytes, %v", n, err)
	}
}

// A connection dialed before its owner moved to another server refuses to
// write, with an error that says the request never left; what it reads goes
// to the owner's AfterSwitch.
func TestAConnectionOfAnEarlierGenerationRefusesToWrite(t *testing.T) {
	e := newEndpoint(t, nil)
	o := owner(e)
	client, end := net.Pipe()
	conn := Wrap(e, client, 0)
	defer conn.Close()
	defer end.Close()
	o.gen.Store(1)
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); !errors.Is(err, ErrWriteOnClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write after the move: %v, want ErrWriteOnClosed", err)
	}
	go func() { _, _ = end.Write([]byte("+OK\r\n")) }()
	var buf [16]byte
	if _, err := conn.Read(buf[:]); !errors.Is(err, net.ErrClosed) || o.afterSwitch.Load() != 1 {
		t.Fatalf("a read after the move: %v, AfterSwitch %d times", err, o.afterSwitch.Load())
	}
}

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
	e := newEndpoint(t, nil)
	sys, ok := Wrap(e, tcp, 0).(syscall.Conn)
	if !ok {
		t.Fatal("a wrapped TCP connection hides SyscallConn")
	}
	if _, err := sys.SyscallConn(); err != nil {
		t.Fatalf("SyscallConn of a wrapped TCP connection: %v", err)
	}

	piped, other := net.Pipe()
	defer piped.Close()
	defer other.Close()
	wrapped := Wrap(e, piped, 0)
	if _, ok := wrapped.(syscall.Conn); ok {
		t.Fatal("a wrapped connection without a file descriptor shows SyscallConn")
	}
	under, ok := wrapped.(interface{ NetConn() net.Conn })
	if !ok || under.NetConn() != piped {
		t.Fatal("NetConn does not return the connection underneath")
	}
}
