package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinelSet is how a Sentinel client built by New finds its master: each
// reconnect attempt asks every sentinel at once and takes the first answer (a
// frozen sentinel costs nothing), dials that master and checks that it is one
// (ROLE); and a watcher on every sentinel follows +switch-master, asking a
// sentinel that does not answer again on the reconnect schedule. The master
// is one node whose address moves. A switch (announced, or found by READONLY
// or by a reconnect attempt) moves the node at once: the connections to the
// old master are cut, an attempt waiting on it is abandoned, the new master
// gets a fresh breaker, and what was never sent goes to the new master (see
// node.moveTo and switchedError).
type sentinelSet struct {
	c          *Client
	n          *node
	masterName string
	base       *redis.Options // for the sentinels: dialer, TLS, timeouts, sentinel credentials

	mu       sync.Mutex
	addrs    []string
	clients  map[string]*redis.SentinelClient
	gates    map[string]*sentinelGate // by sentinel: its dials' schedule
	watchers map[string]*redis.PubSub // by sentinel: the subscription at work
	closed   bool
	// announced is the master the last +switch-master named, until a
	// reconnect attempt takes it: that attempt dials it without asking the
	// sentinels, some of which may not know of the switch yet.
	announced string
}

// sentinelConfig is what New learned from the options about the sentinels.
type sentinelConfig struct {
	masterName string
	addrs      []string
	base       *redis.Options
}

// startSentinel supervises the master of a Sentinel client built by New.
func (c *Client) startSentinel(rdb *redis.Client, cfg *sentinelConfig, gate *networkGate) {
	opt := rdb.Options()
	s := &sentinelSet{
		c:          c,
		masterName: cfg.masterName,
		base:       cfg.base,
		addrs:      slices.Clone(cfg.addrs),
		clients:    make(map[string]*redis.SentinelClient),
		watchers:   make(map[string]*redis.PubSub),
		gates:      make(map[string]*sentinelGate),
	}
	c.sentinels = s
	n := newNode(c, opt.Addr, sentinelProber{s: s, opt: opt}, judgeLimit(opt.ReadTimeout), opt.PoolSize)
	n.master = true
	n.client.Store(rdb)
	n.guardCache(opt, gate)
	s.n = n
	c.solo = n
	rdb.AddHook(soloHook{n})
	for _, addr := range s.addrs {
		s.watch(addr)
	}
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	c.goBackground(func() { n.supervise(nil) })
}

// sentinelProber makes a Sentinel master's reconnect attempts.
type sentinelProber struct {
	s   *sentinelSet
	opt *redis.Options
}

func (p sentinelProber) probe(ctx context.Context, n *node) error {
	addr := p.s.takeAnnounced()
	if addr == "" {
		var err error
		if addr, err = p.s.resolve(ctx); err != nil {
			return err
		}
	}
	if addr != n.address() && ctx.Err() == nil {
		// A switch found on reconnecting: cut what went to the old master,
		// and let commands wait for this attempt. (The first connection
		// finds the first master: no switch.)
		if n.State() != StateConnecting {
			n.startSwitch()
		}
		n.moveTo(addr)
	}
	conn, err := p.opt.Dialer(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	n.c.events.connect(conn.RemoteAddr().String())
	if rt := p.opt.ReadTimeout; rt > 0 {
		// A master that does not answer the handshake within the time
		// go-redis waits for a reply is of no use yet (a frozen old one,
		// say): the next attempt asks the sentinels again.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt)
		defer cancel()
	}
	return handshakeAndPing(ctx, n, conn, p.opt, isMaster)
}

// takeAnnounced returns the master a +switch-master named since the last
// attempt, or "".
func (s *sentinelSet) takeAnnounced() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.announced
	s.announced = ""
	return addr
}

// isMaster fails unless the server is a master: a demoted master still answers
// PING.
func isMaster(ctx context.Context, rc *redis.Client) error {
	role, err := rc.Do(ctx, "ROLE").Slice()
	if err != nil {
		return err
	}
	if len(role) == 0 || role[0] != "master" {
		return fmt.Errorf("%s is a %v, not the master", rc.Options().Addr, role[0])
	}
	return nil
}

// resolveGrace is how long resolve waits for the other sentinels' answers
// after the first: on loopback or in a data centre they answer within it,
// and a frozen sentinel costs no more.
const resolveGrace = 50 * time.Millisecond

// resolve asks every sentinel for the master's address at once and returns
// what they answer within resolveGrace of the first answer, preferring a
// master other than the one the node was lost on (or announced replaced): a
// sentinel that names another one has seen a failover that the others may not
// have caught up with yet.
func (s *sentinelSet) resolve(ctx context.Context) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addrs := s.sentinelAddrs()
	if len(addrs) == 0 {
		return "", errors.New("redisguard: no sentinel configured")
	}
	type answer struct {
		sentinel, master string
		err              error
	}
	answers := make(chan answer, len(addrs))
	for _, addr := range addrs {
		go func() {
			cl := s.client(addr)
			if cl == nil {
				answers <- answer{sentinel: addr, err: ErrClosed}
				return
			}
			r, err := cl.GetMasterAddrByName(ctx, s.masterName).Result()
			if err == nil && len(r) != 2 {
				err = fmt.Errorf("unexpected reply %q", r)
			}
			a := answer{sentinel: addr, err: err}
			if err == nil {
				a.master = net.JoinHostPort(r[0], r[1])
			}
			answers <- a
		}()
	}
	var errs []error
	var found answer
	var grace <-chan time.Time
	current := s.n.address()
	if lost := s.n.lostFrom.Load(); lost != nil {
		current = *lost
	}
collect:
	for range addrs {
		var a answer
		select {
		case a = <-answers:
		case <-grace:
			break collect
		}
		switch {
		case a.err != nil:
			errs = append(errs, fmt.Errorf("sentinel %s: %w", a.sentinel, a.err))
			continue
		case found.master == "":
			found = a
			t := time.NewTimer(resolveGrace)
			defer t.Stop()
			grace = t.C
		case found.master == current:
			found = a
		}
		if found.master != current {
			break
		}
	}
	if found.master == "" {
		return "", fmt.Errorf("no sentinel knows master %q: %w", s.masterName, errors.Join(errs...))
	}
	cancel()
	s.discover(found.sentinel)
	return found.master, nil
}

// discover learns the other sentinels of the master from one that answered,
// and watches the new ones, in the background.
func (s *sentinelSet) discover(from string) {
	s.c.goBackground(func() {
		ctx, cancel := context.WithTimeout(s.c.ctx, s.c.cfg.connectTimeout)
		defer cancel()
		cl := s.client(from)
		if cl == nil {
			return
		}
		peers, err := cl.Sentinels(ctx, s.masterName).Result()
		if err != nil {
			return
		}
		for _, p := range peers {
			if p["ip"] == "" || p["port"] == "" {
				continue
			}
			addr := net.JoinHostPort(p["ip"], p["port"])
			s.mu.Lock()
			known := slices.Contains(s.addrs, addr) || s.closed
			if !known {
				s.addrs = append(s.addrs, addr)
			}
			s.mu.Unlock()
			if !known {
				s.watch(addr)
			}
		}
	})
}

func (s *sentinelSet) sentinelAddrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.addrs)
}

// client returns the client of one sentinel, or nil once closed.
func (s *sentinelSet) client(addr string) *redis.SentinelClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	cl, ok := s.clients[addr]
	if !ok {
		g := &sentinelGate{c: s.c}
		opt := *s.base
		opt.Addr = addr
		opt.Dialer = g.dialer(s.base.Dialer)
		cl = redis.NewSentinelClient(&opt)
		s.clients[addr] = cl
		s.gates[addr] = g
	}
	return cl
}

// gate returns the gate of a sentinel's dials.
func (s *sentinelSet) gate(addr string) *sentinelGate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gates[addr]
}

// watch follows +switch-master on one sentinel, for the client's life.
func (s *sentinelSet) watch(addr string) {
	if cl := s.client(addr); cl != nil {
		s.c.goBackground(func() { s.follow(addr, cl) })
	}
}

// minSentinelRetry bounds how often a sentinel that does not answer is asked
// again, whatever the reconnect strategy says.
const minSentinelRetry = 100 * time.Millisecond

// follow subscribes to +switch-master on one sentinel and passes on what it
// announces. A sentinel that cannot be subscribed to, or whose subscription
// breaks, is tried again after the reconnect schedule's delay for the
// failures in a row so far (its last delay once the strategy gives up), and
// no sooner than its gate allows: a sentinel that is down sees the attempts
// of the schedule from each client, not go-redis's ten a second.
func (s *sentinelSet) follow(addr string, cl *redis.SentinelClient) {
	ctx := s.c.ctx
	delay := minSentinelRetry
	for failures := 0; ; {
		ps := cl.Subscribe(ctx) // no channel yet: it connects below
		if !s.setWatcher(addr, ps) {
			_ = ps.Close()
			return
		}
		err := ps.Subscribe(ctx, "+switch-master")
		for err == nil {
			var msg any
			msg, err = ps.Receive(ctx)
			switch m := msg.(type) {
			case *redis.Subscription:
				failures = 0
			case *redis.Message:
				failures = 0
				s.switched(m.Payload)
			}
		}
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		failures++
		if d, serr := s.c.cfg.reconnect.NextDelay(failures, err); serr == nil {
			delay = max(d, minSentinelRetry)
		}
		if g := s.gate(addr); g != nil {
			delay = max(delay, g.wait()) // the other dials' failures count too
		}
		if sleep(ctx, delay) != nil {
			return
		}
	}
}

// setWatcher records the subscription at work on a sentinel, for close; it
// returns false once closed.
func (s *sentinelSet) setWatcher(addr string, ps *redis.PubSub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.watchers[addr] = ps
	return true
}

// switched follows a +switch-master announcement: "<name> <old ip> <old port>
// <new ip> <new port>". Every sentinel announces it: the first moves the node
// to the new master at once, the others find it there.
func (s *sentinelSet) switched(payload string) {
	f := strings.Fields(payload)
	if len(f) != 5 || f[0] != s.masterName {
		return
	}
	addr := net.JoinHostPort(f[3], f[4])
	n := s.n
	if addr == n.address() && (n.State() == StateReady || n.inSwitch()) {
		return
	}
	s.mu.Lock()
	s.announced = addr
	s.mu.Unlock()
	n.demotedFrom.Store(nil) // the old master may still take writes: cut
	old := net.JoinHostPort(f[1], f[2])
	n.lostFrom.Store(&old)
	n.startSwitch()
	n.lost(fmt.Errorf("sentinel: master %s moved to %s", s.masterName, addr))
	n.moveTo(addr)
	n.abandonAttempt()
}

// close stops the watchers and the sentinels' clients. It is safe on nil.
func (s *sentinelSet) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	watchers, clients := s.watchers, s.clients
	s.watchers, s.clients = nil, nil
	s.mu.Unlock()
	for _, ps := range watchers {
		_ = ps.Close()
	}
	for _, cl := range clients {
		_ = cl.Close()
	}
}
