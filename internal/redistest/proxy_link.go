package redistest

import (
	"errors"
	"math/rand/v2"
	"net"
	"time"
)

// chunkSize is the copy buffer per direction; one read of up to this many
// bytes is one chunk, the unit that faults and Requests count.
const chunkSize = 32 << 10

// errLinkClosed reports that a connection was closed by a fault or by
// Close while its upstream was being dialed.
var errLinkClosed = errors.New("proxied connection closed")

// link is one proxied connection: a client and, once the client has sent
// something, its upstream. The fields guarded by Proxy.mu let the copiers
// of both directions and the fault methods agree on its state.
type link struct {
	client *net.TCPConn
	done   chan struct{} // closed by closeLink; interrupts latency waits

	server net.Conn // guarded by Proxy.mu; nil until dialed
	doomed bool     // guarded by Proxy.mu; a reset is due, replies must not pass
	closed bool     // guarded by Proxy.mu
}

// pumpRequests copies client->server until either side fails or a fault
// ends the connection, then closes both sides.
func (p *Proxy) pumpRequests(l *link) {
	defer p.closeLink(l, false)
	buf := make([]byte, chunkSize)
	for {
		n, err := l.client.Read(buf)
		if n > 0 && !p.forwardRequest(l, buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// pumpReplies copies server->client until either side fails or a fault
// ends the connection, then closes both sides.
func (p *Proxy) pumpReplies(l *link, server net.Conn) {
	defer p.closeLink(l, false)
	buf := make([]byte, chunkSize)
	for {
		n, err := server.Read(buf)
		if n > 0 && !p.forwardReply(l, buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// verdict is what happens to a client chunk that is ready to go upstream.
type verdict int

const (
	swallow          verdict = iota // drop it, keep the connection (Blackhole)
	forward                         // write it upstream
	forwardThenReset                // write it upstream, then reset the client
	abandon                         // the connection was closed meanwhile
)

// forwardRequest applies the current mode to a chunk from the client and
// reports whether the connection lives on.
func (p *Proxy) forwardRequest(l *link, chunk []byte) bool {
	if !p.delay(l) {
		return false
	}
	if p.blackholed() {
		return true // swallowed, without even dialing the upstream
	}
	server, err := p.dialUpstream(l)
	if err != nil {
		return false
	}
	v := p.judgeRequest(l)
	switch v {
	case swallow:
		return true
	case abandon:
		return false
	}
	if _, err := server.Write(chunk); err != nil {
		return false
	}
	if v == forwardThenReset {
		p.closeLink(l, true)
		return false
	}
	return true
}

// judgeRequest decides, under the lock, the verdict on a client chunk
// that is ready to go upstream, consuming a pending reset if one is armed.
// A chunk to be forwarded is counted before it is written, so that anyone
// who has seen its effect also sees it in Requests. Dooming the link
// before the write guarantees that the copier of the reply direction,
// which checks the mark under the same lock, drops the reply to it.
func (p *Proxy) judgeRequest(l *link) verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.closed {
		return abandon
	}
	if p.blackhole {
		return swallow
	}
	p.requests++
	if p.resets > 0 {
		p.resets--
		l.doomed = true
		return forwardThenReset
	}
	return forward
}

// forwardReply applies the current mode to a chunk from the server and
// reports whether the connection lives on.
func (p *Proxy) forwardReply(l *link, chunk []byte) bool {
	if !p.delay(l) {
		return false
	}
	p.mu.Lock()
	drop := p.blackhole || l.doomed
	closed := l.closed
	p.mu.Unlock()
	if closed {
		return false
	}
	if drop {
		return true
	}
	_, err := l.client.Write(chunk)
	return err == nil
}

// dialUpstream returns the link's upstream connection, dialing it on first
// use and starting the copier of the reply direction.
func (p *Proxy) dialUpstream(l *link) (net.Conn, error) {
	p.mu.Lock()
	server := l.server
	p.mu.Unlock()
	if server != nil {
		return server, nil
	}
	dialer := net.Dialer{Timeout: upstreamDialTimeout}
	server, err := dialer.DialContext(p.ctx, "tcp", p.upstream)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.closed {
		_ = server.Close()
		return nil, errLinkClosed
	}
	l.server = server
	p.wg.Go(func() { p.pumpReplies(l, server) })
	return server, nil
}

// delay waits out the current latency, if any, and reports false if the
// link was closed meanwhile.
func (p *Proxy) delay(l *link) bool {
	p.mu.Lock()
	d, j := p.latency, p.jitter
	p.mu.Unlock()
	if j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j+1))) - j
	}
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-l.done:
		return false
	}
}

func (p *Proxy) blackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackhole
}

// closeLink closes both sides of l, once. With reset the client sees a TCP
// RST (SO_LINGER 0) instead of an orderly FIN.
func (p *Proxy) closeLink(l *link, reset bool) {
	p.mu.Lock()
	if l.closed {
		p.mu.Unlock()
		return
	}
	l.closed = true
	delete(p.links, l)
	server := l.server
	p.mu.Unlock()

	close(l.done)
	if reset {
		_ = l.client.SetLinger(0)
	}
	_ = l.client.Close()
	if server != nil {
		_ = server.Close()
	}
}
