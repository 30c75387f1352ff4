package redisguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/outcome"
	"github.com/redisguard/redisguard/internal/wire"
)

// What a failure on a connection to a master replaced since means: it counts
// against no server, a write in flight is not resent, what was refused or
// never written may run on the new master.
func TestSwitchedErrorOutcome(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	inFlight := newSwitched("10.0.0.1:6379", "10.0.0.2:6379", timeout)
	refused := &switchedError{from: "10.0.0.1:6379", to: "10.0.0.2:6379", cause: wire.Reply("READONLY You can't write against a read only replica."), refused: true}
	cases := []struct {
		name string
		err  error
		want outcome.Kind
	}{
		{"in flight", inFlight, outcome.Switched},
		{"in flight, wrapped", fmt.Errorf("INCR: %w", inFlight), outcome.Switched},
		{"refused by the demoted master", refused, outcome.NotSent},
		{"handshake on a cut connection", markNotSent(inFlight), outcome.NotSent},
	}
	for _, tc := range cases {
		if got := kindOf(tc.err); got != tc.want {
			t.Errorf("%s: kind %v, want %v", tc.name, got, tc.want)
		}
	}
	if !errors.Is(inFlight, ErrMasterSwitched) || !errors.Is(inFlight, os.ErrDeadlineExceeded) {
		t.Errorf("%v: want ErrMasterSwitched and its cause for errors.Is", inFlight)
	}
	var ne net.Error
	if !errors.As(inFlight, &ne) || !ne.Timeout() {
		t.Errorf("%v: want a net.Error that times out, as the cause", inFlight)
	}
	if v := (&node{}).verdict(inFlight); v != errNotCounted {
		t.Errorf("the breaker counts %v for the old master's failure, want it not counted", v)
	}
	if k, row := classify(context.Background(), inFlight); k != outcome.Switched || row.Lost != outcome.Kept {
		t.Errorf("a write in flight at the switch: %v %+v, want Switched, its master not lost", k, row)
	}
}

// However often something dials a sentinel that does not answer, the
// network sees the reconnect schedule's dials; one that answers resets it.
func TestSentinelGateKeepsTheSchedule(t *testing.T) {
	c := &Client{cfg: config{reconnect: ExponentialBackoff{}}}
	g := &sentinelGate{c: c}
	var dials int
	down := true
	dial := g.dialer(func(context.Context, string, string) (net.Conn, error) {
		dials++
		if down {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}
		a, b := net.Pipe()
		_ = b.Close()
		return a, nil
	})
	start := time.Now()
	for time.Since(start) < 1600*time.Millisecond {
		if conn, err := dial(context.Background(), "tcp", "127.0.0.1:1"); err == nil {
			conn.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
	// At 0, 0.1, 0.3, 0.7 and 1.5 s.
	if dials < 4 || dials > 5 {
		t.Errorf("%d dials in 1.6 s to a sentinel that is down, want the schedule's 5", dials)
	}
	down = false
	time.Sleep(g.wait())
	if _, err := dial(context.Background(), "tcp", "127.0.0.1:1"); err != nil {
		t.Fatalf("dial once the schedule allows it: %v", err)
	}
	if _, err := dial(context.Background(), "tcp", "127.0.0.1:1"); err != nil {
		t.Fatalf("dial after a success: %v", err)
	}
}

// pipeConn is one connection of a node over net.Pipe: what the client
// writes is read on the server's side and dropped.
func pipeConn(t *testing.T, n *node) (conn, server net.Conn) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { server.Close() })
	go func() {
		var buf [256]byte
		for {
			if _, err := server.Read(buf[:]); err != nil {
				return
			}
		}
	}()
	return n.wrapConn(client, n.gen.Load()), server
}

// awaitRead reads on conn in the background and returns the read's error.
func awaitRead(conn net.Conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		var buf [64]byte
		_, err := conn.Read(buf[:])
		done <- err
	}()
	return done
}

// A switch cuts the old master's connections at once: a reply awaited fails
// with the switch, naming both servers; a request not yet written is refused,
// to run on the new master. A master found demoted keeps the connections that
// await a reply, and its READONLY is a refusal that may run anywhere.
func TestSwitchCutsTheOldMastersConnections(t *testing.T) {
	request := []byte("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n")
	for _, demoted := range []bool{false, true} {
		c := newClient(nil, config{queueLimit: 10, connectTimeout: time.Second, events: newEvents(Hooks{}, slog.New(slog.DiscardHandler))}, retryPolicy{})
		n := newNode(c, "pipe", nil, time.Second, 2)
		n.master = true
		pending, server := pipeConn(t, n)
		idle, _ := pipeConn(t, n)
		if _, err := pending.Write(request); err != nil {
			t.Fatal(err)
		}
		read := awaitRead(pending)
		if demoted {
			addr := n.address()
			n.demotedFrom.Store(&addr)
		}
		n.moveTo("10.0.0.2:6379")
		if demoted {
			if _, err := server.Write([]byte("-READONLY You can't write against a read only replica.\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		select {
		case err = <-read:
		case <-time.After(5 * time.Second):
			t.Fatalf("demoted %v: the reply awaited from the old master is still awaited after the switch", demoted)
		}
		want := outcome.Switched
		if demoted {
			want = outcome.NotSent
		}
		if !errors.Is(err, ErrMasterSwitched) || kindOf(err) != want || !strings.Contains(err.Error(), "10.0.0.2:6379") {
			t.Errorf("demoted %v: the awaited reply failed with %v (outcome %v), want ErrMasterSwitched naming the new master, outcome %v", demoted, err, kindOf(err), want)
		}
		if _, err := idle.Write(request); !errors.Is(err, wire.ErrWriteOnClosed) || kindOf(err) != outcome.NotSent {
			t.Errorf("demoted %v: a write on the old master's idle connection: %v, want it refused before the write", demoted, err)
		}
		pending.Close()
		idle.Close()
		if len(n.conns) != 0 {
			t.Errorf("demoted %v: %d connections still tracked after they closed", demoted, len(n.conns))
		}
		c.cancel()
	}
}
