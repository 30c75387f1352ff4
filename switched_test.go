package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// What a failure on a connection to a master replaced since means: it counts
// against no server, a write in flight is not resent, what was refused or
// never written may run on the new master.
func TestSwitchedErrorOutcome(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	inFlight := newSwitched("10.0.0.1:6379", "10.0.0.2:6379", timeout)
	refused := &switchedError{from: "10.0.0.1:6379", to: "10.0.0.2:6379", cause: serverReply("READONLY You can't write against a read only replica."), refused: true}
	cases := []struct {
		name string
		err  error
		want outcome
	}{
		{"in flight", inFlight, outcomeSwitched},
		{"in flight, wrapped", fmt.Errorf("INCR: %w", inFlight), outcomeSwitched},
		{"refused by the demoted master", refused, outcomeNotSent},
		{"handshake on a cut connection", markNotSent(inFlight), outcomeNotSent},
	}
	for _, tc := range cases {
		if got := classifyErr(tc.err); got != tc.want {
			t.Errorf("%s: outcome %d, want %d", tc.name, got, tc.want)
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
	if classify(context.Background(), inFlight) != outcomeSwitched {
		t.Error("classify differs from classifyErr")
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
