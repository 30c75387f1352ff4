package admission

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errClosed = errors.New("client closed")

func never() bool { return false }

// take is Take with a context that ends after d.
func take(g *DialGate, d time.Duration, idle func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return g.Take(ctx, context.Background(), idle)
}

// The pool fills at once; beyond it, dials come at the rate, and a dial
// given back is at hand again.
func TestDialGateLetsABurstThenPaces(t *testing.T) {
	var g DialGate
	g.Init(3, 0.001, errClosed) // one more dial every 1000 s: none in the test
	if g.Burst() != 3 {
		t.Fatalf("burst %d, want the pool's size 3", g.Burst())
	}
	for i := range 3 {
		if err := take(&g, time.Second, never); err != nil {
			t.Fatalf("dial %d of the burst: %v", i+1, err)
		}
	}
	if err := take(&g, 20*time.Millisecond, never); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrDialPaused) {
		t.Fatalf("a dial beyond the burst: %v, want the caller's deadline", err)
	}
	g.Refund() // a connection closed cleanly
	if err := take(&g, time.Second, never); err != nil {
		t.Fatalf("a dial given back: %v", err)
	}
	// A dial waiting for the rate takes a dial given back at once.
	done := make(chan error, 1)
	go func() { done <- take(&g, time.Minute, never) }()
	time.Sleep(20 * time.Millisecond) // it waits
	start := time.Now()
	g.Refund()
	if err := <-done; err != nil {
		t.Fatalf("a waiting dial, given one back: %v", err)
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Fatalf("a waiting dial took a dial given back after %v, want at once", waited)
	}
}

// After a refusal for max clients new dials pause, for a time that doubles
// while the server refuses; then one dial tries alone until the server
// accepts it.
func TestDialGatePausesAfterARefusal(t *testing.T) {
	var g DialGate
	g.Init(10, 1000, errClosed)
	for range 3 {
		g.Busy() // 100, 200, then 400 ms
	}
	if err := take(&g, 20*time.Millisecond, never); !errors.Is(err, ErrDialPaused) {
		t.Fatalf("a dial during the pause: %v, want ErrDialPaused", err)
	}
	start := time.Now()
	if err := take(&g, 5*time.Second, never); err != nil {
		t.Fatalf("the dial after the pause: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("the dial after a pause of 400 ms began after %v", waited)
	}
	if err := take(&g, 50*time.Millisecond, never); !errors.Is(err, ErrDialPaused) {
		t.Fatalf("a second dial while the first tries the server: %v, want ErrDialPaused", err)
	}
	g.Accepted()
	if err := take(&g, time.Second, never); err != nil {
		t.Fatalf("a dial once the server accepted one: %v", err)
	}
}

// While new dials pause, a dial whose pool has connections is refused at
// once (its command asks the pool again), and one whose pool has none waits
// for the pause, until its context ends.
func TestDialGateRefusesAtOnceWhileThePoolHasConnections(t *testing.T) {
	var g DialGate
	g.Init(10, 1000, errClosed)
	for range 5 {
		g.Busy() // 1.6 s
	}
	pooled := func() bool { return true }
	start := time.Now()
	if err := take(&g, time.Second, pooled); !errors.Is(err, ErrDialPaused) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a dial with a pooled connection during the pause: %v after %v, want ErrDialPaused at once", err, time.Since(start))
	}
	start = time.Now()
	if err := take(&g, 100*time.Millisecond, never); !errors.Is(err, ErrDialPaused) || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("a dial with an empty pool during the pause: %v after %v, want ErrDialPaused at its deadline", err, time.Since(start))
	}
}

// A dial waiting for the gate ends with the client's error when it closes.
func TestDialGateEndsWithTheClient(t *testing.T) {
	var g DialGate
	g.Init(1, 0.001, errClosed)
	if err := take(&g, time.Second, never); err != nil {
		t.Fatal(err)
	}
	client, closeClient := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Take(context.Background(), client, never) }()
	closeClient()
	if err := <-done; !errors.Is(err, errClosed) {
		t.Fatalf("a dial waiting as the client closed: %v, want its closed error", err)
	}
}
