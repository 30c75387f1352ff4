package redisguard

import (
	"net"
	"testing"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

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
	if !c.queue.TakeOne() { // a command in flight: the clock ticks
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
