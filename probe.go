package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/auth"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// prober makes one reconnect attempt: a dial, the handshake and a PING, on a
// connection of its own, so that neither the pools of the client nor go-redis's
// own dial bookkeeping are touched while the server is down.
type prober interface {
	// probe runs one attempt within ctx and calls connected with the server's
	// address once the dial succeeded.
	probe(ctx context.Context, connected func(addr string)) error
}

// credentials is what the handshake of a probe needs from the client's options.
type credentials struct {
	username        string
	password        string
	provider        func() (string, string)
	providerContext func(context.Context) (string, string, error)
	streaming       auth.StreamingCredentialsProvider
	protocol        int
	db              int
	clientName      string
	disableIdentity bool
}

// nodeProber probes the server of a *redis.Client (standalone, or the current
// master of a Sentinel failover client, whose Dialer asks the sentinels).
type nodeProber struct {
	opt *redis.Options
}

func (p nodeProber) probe(ctx context.Context, connected func(string)) error {
	conn, err := p.opt.Dialer(ctx, p.opt.Network, p.opt.Addr)
	if err != nil {
		return err
	}
	connected(conn.RemoteAddr().String())
	return handshakeAndPing(ctx, conn, credentials{
		username:        p.opt.Username,
		password:        p.opt.Password,
		provider:        p.opt.CredentialsProvider,
		providerContext: p.opt.CredentialsProviderContext,
		streaming:       p.opt.StreamingCredentialsProvider,
		protocol:        p.opt.Protocol,
		db:              p.opt.DB,
		clientName:      p.opt.ClientName,
		disableIdentity: p.opt.DisableIdentity,
	})
}

// clusterProber probes the seed nodes of a cluster in turn, one per attempt.
type clusterProber struct {
	opt  *redis.ClusterOptions
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	next atomic.Uint32
}

func (p *clusterProber) probe(ctx context.Context, connected func(string)) error {
	addrs := p.opt.Addrs
	addr := addrs[int(p.next.Add(1)-1)%len(addrs)]
	conn, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	connected(conn.RemoteAddr().String())
	return handshakeAndPing(ctx, conn, credentials{
		username:        p.opt.Username,
		password:        p.opt.Password,
		provider:        p.opt.CredentialsProvider,
		providerContext: p.opt.CredentialsProviderContext,
		streaming:       p.opt.StreamingCredentialsProvider,
		protocol:        p.opt.Protocol,
		clientName:      p.opt.ClientName,
		disableIdentity: p.opt.DisableIdentity,
	})
}

// handshakeAndPing authenticates on conn as the client's connections do, sends a
// PING and closes conn. A throwaway go-redis client does the handshake (HELLO,
// AUTH, SELECT) so that it is exactly the client's.
func handshakeAndPing(ctx context.Context, conn net.Conn, cr credentials) error {
	defer conn.Close()
	var dialed atomic.Bool
	rc := redis.NewClient(&redis.Options{
		Addr: conn.RemoteAddr().String(),
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			if dialed.Swap(true) {
				return nil, errors.New("redisguard: reconnect attempt needs a second connection")
			}
			return conn, nil
		},
		Username:                     cr.username,
		Password:                     cr.password,
		CredentialsProvider:          cr.provider,
		CredentialsProviderContext:   cr.providerContext,
		StreamingCredentialsProvider: cr.streaming,
		Protocol:                     cr.protocol,
		DB:                           cr.db,
		ClientName:                   cr.clientName,
		DisableIdentity:              cr.disableIdentity,
		MaxRetries:                   -1,
		DialerRetries:                1,
		PoolSize:                     1,
		PipelinePoolSize:             -1,
		ContextTimeoutEnabled:        true,
		MaintNotificationsConfig:     &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("PING %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}

// newProber picks the prober for the client type, and fails for types the client
// cannot supervise.
func (c *Client) newProber(rdb redis.UniversalClient) (prober, error) {
	switch r := rdb.(type) {
	case *redis.Client:
		return nodeProber{opt: r.Options()}, nil
	case *redis.ClusterClient:
		opt := r.Options()
		if len(opt.Addrs) == 0 {
			return nil, optionErrorf("Redis.Addrs", "is empty: a cluster client needs at least one seed address")
		}
		dial := opt.Dialer
		if dial == nil {
			dial = redis.NewDialer(&redis.Options{DialTimeout: opt.DialTimeout, TLSConfig: opt.TLSConfig})
		}
		return &clusterProber{opt: opt, dial: dial}, nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedClient, rdb)
	}
}
