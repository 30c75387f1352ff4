package redistest

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// upstreamDialTimeout bounds the proxy's dial to its upstream.
const upstreamDialTimeout = 5 * time.Second

// Proxy is a TCP proxy on 127.0.0.1 between clients and one upstream
// server that injects network faults on command. Every mode change applies
// at once to established connections as well as to new ones, because the
// mode is consulted for every chunk of data. Its address never changes,
// even across Refuse and Heal. Its methods may be called from any
// goroutine, except that Heal can fail the test and so follows the rules
// of t.Fatal.
type Proxy struct {
	t        testing.TB
	upstream string
	port     int
	ctx      context.Context // cancelled by Close to abort upstream dials
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the accept loop and every copier

	mu          sync.Mutex
	ln          *net.TCPListener // nil while refusing and after Close
	closed      bool
	links       map[*link]struct{}
	latency     time.Duration
	jitter      time.Duration
	blackhole   bool
	resets      int // client->server chunks still to be followed by a reset
	acceptTimes []time.Time
	requests    int
}

// NewProxy starts a proxy on a free loopback port that forwards every
// connection it accepts to upstream ("host:port"), in normal forwarding
// mode. The upstream is dialed when a client first sends data; if that
// dial fails the client's connection is closed. t.Cleanup closes the proxy.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := listenFreePort()
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		t:        t,
		upstream: upstream,
		port:     portOf(ln),
		ctx:      ctx,
		cancel:   cancel,
		links:    make(map[*link]struct{}),
	}
	p.mu.Lock()
	p.serveLocked(ln)
	p.mu.Unlock()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the "127.0.0.1:<port>" address clients should dial.
func (p *Proxy) Addr() string {
	return loopbackAddr(p.port)
}

// Accepted returns how many connections the proxy has accepted so far, in
// every mode, including those closed because the upstream could not be
// reached. Tests use it to count a client's (re)connects. A connection is
// counted when the proxy accepts it, which can be a moment after the
// client's dial returned; it is always counted by the time anything sent
// on it has been forwarded.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acceptTimes)
}

// AcceptTimes returns when each connection was accepted, oldest first, so
// that tests can check reconnect backoff. The slice is the caller's.
func (p *Proxy) AcceptTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.acceptTimes)
}

// Requests returns how many chunks read from clients have been passed
// upstream so far; a chunk is one read of up to 32 KiB, usually one
// command or one pipeline. Chunks swallowed by Blackhole do not count; a
// chunk followed by a reset does, because the server received it. A chunk
// is counted as its write upstream starts, so a test that has seen a
// reply or a side effect of it always finds it counted.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Close stops the proxy for good: it stops listening, closes every
// connection and returns once all of its goroutines have finished. It is
// called by t.Cleanup and may be called earlier, more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	ln := p.ln
	p.ln = nil
	links := p.linksLocked()
	p.mu.Unlock()
	p.cancel()
	if ln != nil {
		_ = ln.Close()
	}
	p.closeLinks(links)
	p.wg.Wait()
}

// serveLocked makes ln the current listener and starts accepting on it.
func (p *Proxy) serveLocked(ln *net.TCPListener) {
	p.ln = ln
	p.wg.Go(func() { p.acceptLoop(ln) })
}

// acceptLoop accepts on ln until it is closed by Refuse or Close.
func (p *Proxy) acceptLoop(ln *net.TCPListener) {
	for {
		conn, err := ln.AcceptTCP()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.t.Errorf("redistest: proxy accept on %s: %v", p.Addr(), err)
			}
			return
		}
		p.admit(ln, conn)
	}
}

// admit records an accepted connection and starts forwarding it, unless
// ln stopped being the listener while the connection was being accepted.
func (p *Proxy) admit(ln *net.TCPListener, conn *net.TCPConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acceptTimes = append(p.acceptTimes, time.Now())
	if p.ln != ln {
		_ = conn.Close()
		return
	}
	l := &link{client: conn, done: make(chan struct{})}
	p.links[l] = struct{}{}
	p.wg.Go(func() { p.pumpRequests(l) })
}
