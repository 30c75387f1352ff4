package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// sentinelSet is how a Sentinel client built by New finds its master: each
// reconnect attempt asks every sentinel at once and takes the first answer (a
// frozen sentinel costs nothing), dials that master and checks that it is one
// (ROLE); and a watcher on every sentinel follows +switch-master at once,
// cutting short an attempt stuck on the old master. The master is one node
// whose address moves: a new master gets a fresh breaker, and the connections
// to the old one refuse to write, so that what was never sent goes to the new.
type sentinelSet struct {
	c          *Client
	n          *node
	masterName string
	base       *redis.Options // for the sentinels: dialer, TLS, timeouts, sentinel credentials

	mu       sync.Mutex
	addrs    []string
	clients  map[string]*redis.SentinelClient
	watchers []*redis.PubSub
	closed   bool
	// announced is the last master a +switch-master named.
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
	addr, err := p.s.resolve(ctx)
	if err != nil {
		return err
	}
	conn, err := p.opt.Dialer(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	n.c.events.connect(conn.RemoteAddr().String())
	n.moveTo(addr)
	return handshakeAndPing(ctx, n, conn, p.opt, isMaster)
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

// resolve asks every sentinel for the master's address at once and returns
// the first answer.
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
	for range addrs {
		a := <-answers
		if a.err == nil {
			cancel()
			s.discover(a.sentinel)
			return a.master, nil
		}
		errs = append(errs, fmt.Errorf("sentinel %s: %w", a.sentinel, a.err))
	}
	return "", fmt.Errorf("no sentinel knows master %q: %w", s.masterName, errors.Join(errs...))
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
		opt := *s.base
		opt.Addr = addr
		cl = redis.NewSentinelClient(&opt)
		s.clients[addr] = cl
	}
	return cl
}

// watch follows +switch-master on one sentinel.
func (s *sentinelSet) watch(addr string) {
	cl := s.client(addr)
	if cl == nil {
		return
	}
	ps := cl.Subscribe(s.c.ctx, "+switch-master")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ps.Close()
		return
	}
	s.watchers = append(s.watchers, ps)
	s.mu.Unlock()
	ch := ps.Channel()
	if !s.c.goBackground(func() {
		for msg := range ch {
			s.switched(msg.Payload)
		}
	}) {
		_ = ps.Close()
	}
}

// switched follows a +switch-master announcement: "<name> <old ip> <old port>
// <new ip> <new port>".
func (s *sentinelSet) switched(payload string) {
	f := strings.Fields(payload)
	if len(f) != 5 || f[0] != s.masterName {
		return
	}
	addr := net.JoinHostPort(f[3], f[4])
	if addr == s.n.address() && s.n.State() == StateReady {
		return
	}
	s.mu.Lock()
	seen := s.announced == addr && s.n.switching.Load()
	s.announced = addr
	s.mu.Unlock()
	if seen {
		return // every sentinel announces it: the attempt for it is under way
	}
	s.n.switching.Store(true)
	s.n.lost(fmt.Errorf("sentinel: master %s moved to %s", s.masterName, addr))
	s.n.abandonAttempt()
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
