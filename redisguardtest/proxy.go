package redisguardtest

import (
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// Proxy is a TCP proxy on 127.0.0.1 between a client and one Redis server
// that injects faults on command. Each change applies at once to established
// connections as well as to new ones. Its address never changes. Its methods
// may be called from any goroutine, but Up and Resume may fail the test and so
// follow the rules of tb.Fatal.
type Proxy struct {
	p *redistest.Proxy

	mu      sync.Mutex
	down    bool
	paused  bool
	latency time.Duration
}

// StartProxy starts a proxy forwarding to target ("host:port"); tb.Cleanup
// closes it.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	return &Proxy{p: redistest.NewProxy(tb, target)}
}

// Addr returns the "127.0.0.1:<port>" address the client should dial.
func (p *Proxy) Addr() string { return p.p.Addr() }

// Down makes Redis unreachable, as a crashed server: new connections are
// refused and established ones closed.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	p.p.Refuse()
}

// Up ends Down: connections are accepted and forwarded again, with the
// latency and pause still set.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
	p.restoreLocked()
}

// SetLatency delays everything forwarded from now on, in either direction,
// by d: a round trip takes at least 2d longer. Zero removes the delay.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
	p.p.Latency(d)
}

// Pause makes Redis silent, as a frozen server or a lost network: connections
// are still accepted and stay open, but nothing is forwarded, so requests go
// unanswered until the client's deadline. What is sent meanwhile is dropped.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	p.p.Blackhole()
}

// Resume ends Pause. Connections that sent requests meanwhile wait for
// replies that never come: clients time them out and reconnect.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	if !p.down {
		p.restoreLocked()
	}
}

// restoreLocked forwards again (listening again after Down) and applies the
// faults still set.
func (p *Proxy) restoreLocked() {
	p.p.Heal() // clears every fault
	if p.latency > 0 {
		p.p.Latency(p.latency)
	}
	if p.paused {
		p.p.Blackhole()
	}
}
