package redistest

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// relistenTimeout is how long Heal keeps retrying the proxy's old port
// after Refuse.
const relistenTimeout = 2 * time.Second

// Pass restores normal forwarding, the mode a new proxy starts in. It is
// Heal under the name that reads better where a test sets a mode rather
// than ends a fault.
func (p *Proxy) Pass() {
	p.t.Helper()
	p.Heal()
}

// Heal ends every fault: it clears latency, jitter, blackhole and pending resets
// and, after Refuse, listens again on the same port. Connections closed by
// earlier faults stay closed. It fails the test if the port cannot be
// bound again within a couple of seconds.
func (p *Proxy) Heal() {
	p.t.Helper()
	p.mu.Lock()
	p.latency, p.jitter, p.blackhole, p.resets = 0, 0, false, 0
	refusing := p.ln == nil && !p.closed
	p.mu.Unlock()
	if !refusing {
		return
	}
	ln, err := relisten(p.port)
	if err != nil {
		p.t.Fatalf("redistest: proxy listen again on %s: %v", p.Addr(), err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed { // a concurrent Heal or Close came first
		_ = ln.Close()
		return
	}
	p.serveLocked(ln)
}

// Latency delays every chunk forwarded from now on, in either direction,
// by d, on established and new connections alike; a round trip therefore
// takes at least 2d longer. Order within a connection is preserved. Zero
// removes the delay.
func (p *Proxy) Latency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Jitter spreads the delay Latency sets: each chunk is delayed by a random
// time drawn uniformly from [d−j, d+j], as a loaded network or a slow but
// alive server does. Zero removes the spread.
func (p *Proxy) Jitter(j time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jitter = j
}

// Blackhole makes the proxy behave like a host that stopped responding
// without closing anything: connections are still accepted and stay open,
// but from now on everything read from either side, on established and
// new connections, is discarded, so requests never reach the server and
// nothing is answered. Discarded data is not replayed after Heal.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// ResetAfterWrite arms a fault for the next n chunks read from clients,
// across all connections: each is written upstream in full, so the server
// executes the request, and then its client connection is reset (TCP RST)
// and its upstream connection closed, before any reply can reach the
// client. This is the "did my write happen?" case, such as an INCR that
// was applied although the client saw an error. After n chunks forwarding
// is normal again. It replaces any count still pending.
func (p *Proxy) ResetAfterWrite(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resets = n
}

// Refuse stops listening, so new connects get ECONNREFUSED as if the
// server were down, and closes every established connection. Heal listens
// again on the same port.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	links := p.linksLocked()
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	p.closeLinks(links)
}

// DropAll closes every established connection, both to the client and to
// the upstream, while still accepting new ones: a connection-level failure
// without a server outage.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	links := p.linksLocked()
	p.mu.Unlock()
	p.closeLinks(links)
}

// linksLocked returns the established connections.
func (p *Proxy) linksLocked() []*link {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	return links
}

func (p *Proxy) closeLinks(links []*link) {
	for _, l := range links {
		p.closeLink(l, false)
	}
}

// relisten listens on the loopback port again, retrying while the port is
// still held, for example by a connection that raced for it.
func relisten(port int) (*net.TCPListener, error) {
	deadline := time.Now().Add(relistenTimeout)
	for {
		ln, err := listenLoopback(port)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
