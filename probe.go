package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/redisguard/redisguard/internal/outcome"
	"github.com/redisguard/redisguard/internal/wire"
)

// prober makes one reconnect attempt for a node: a dial, the handshake and a
// PING, on a connection of its own, so that neither the node's pool nor
// go-redis's dial bookkeeping are touched while the server is down.
type prober interface {
	probe(ctx context.Context, n *node) error
}

// dialProber probes the server that a go-redis client's options dial: a
// standalone server, a cluster node, or the master a Sentinel failover client
// built by the application resolves through its sentinels.
type dialProber struct {
	opt  *redis.Options
	addr string
}

func (p dialProber) probe(ctx context.Context, n *node) error {
	conn, err := p.opt.Dialer(ctx, p.opt.Network, p.addr)
	if err != nil {
		return err
	}
	remote := conn.RemoteAddr().String()
	n.c.events.connect(remote)
	if n.c.failoverWrapped {
		n.moveTo(remote)
	}
	return handshakeAndPing(ctx, n, conn, p.opt, nil)
}

// handshakeAndPing authenticates on conn as the node's connections do, runs
// check (when given) and a PING, and closes conn. A throwaway go-redis client
// does the handshake (HELLO, AUTH, SELECT) so that it is exactly the client's.
// A server that refuses the connection for max clients is alive: the attempt
// succeeds, and the node's new dials pause.
func handshakeAndPing(ctx context.Context, n *node, conn net.Conn, opt *redis.Options, check func(context.Context, *redis.Client) error) error {
	defer conn.Close()
	// go-redis bounds its reads by the context's deadline only: an attempt
	// abandoned for a new master (the old one frozen, say) ends at once.
	raw := conn
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			_ = raw.Close()
		}
	})
	defer stop()
	pc := &probeConn{Conn: conn, replies: wire.Scanner{Limits: &n.c.cfg.limits}}
	conn = pc
	var dialed atomic.Bool
	rc := redis.NewClient(&redis.Options{
		Addr: conn.RemoteAddr().String(),
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			if dialed.Swap(true) {
				return nil, errors.New("redisguard: reconnect attempt needs a second connection")
			}
			return conn, nil
		},
		Username:                     opt.Username,
		Password:                     opt.Password,
		CredentialsProvider:          opt.CredentialsProvider,
		CredentialsProviderContext:   opt.CredentialsProviderContext,
		StreamingCredentialsProvider: opt.StreamingCredentialsProvider,
		Protocol:                     opt.Protocol,
		DB:                           opt.DB,
		ClientName:                   opt.ClientName,
		DisableIdentity:              opt.DisableIdentity,
		MaxRetries:                   -1,
		DialerRetries:                1,
		PoolSize:                     1,
		PipelinePoolSize:             -1,
		ContextTimeoutEnabled:        true,
		MaintNotificationsConfig:     &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer rc.Close()
	err := rc.Ping(ctx).Err()
	if err == nil && check != nil {
		err = check(ctx, rc)
	}
	switch {
	case err == nil:
		n.dials.Accepted()
		return nil
	case kindOf(err) == outcome.MaxClients, kindOf(pc.reply()) == outcome.MaxClients:
		// Alive, and refusing new connections: the connections the pool has
		// serve.
		n.dials.Busy()
		return nil
	case kindOf(err) == outcome.Auth:
		return fmt.Errorf("authentication failed: %w", err)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("PING %s: %w (%v)", conn.RemoteAddr(), context.Canceled, err)
	}
	return fmt.Errorf("PING %s: %w", conn.RemoteAddr(), err)
}

// probeConn keeps the start of what the server sent first on a probe's
// connection: a server that refuses the connection says why and closes, and
// the handshake may fail on the closed connection before reading it.
type probeConn struct {
	net.Conn
	replies wire.Scanner // the client's reply limits hold for a probe too
	mu      sync.Mutex
	read    bool
	first   []byte
}

func (c *probeConn) Read(p []byte) (int, error) {
	if c.replies.Failed() {
		return 0, c.replies.Fail(c.Conn, c.RemoteAddr().String())
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.replies.Scan(p[:n]) != nil {
		return 0, c.replies.Fail(c.Conn, c.RemoteAddr().String())
	}
	if n > 0 {
		c.mu.Lock()
		if !c.read {
			c.read = true
			c.first = append([]byte(nil), p[:min(n, 64)]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// reply returns the error reply the server sent first, or nil.
func (c *probeConn) reply() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return wire.ErrorReply(c.first)
}
