package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
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
