package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/wire"
)

// errSentinelWait is the failure of a dial to a sentinel that does not
// answer, asked for before the reconnect schedule allows the next one.
var errSentinelWait = errors.New("redisguard: sentinel not answering; next dial on the reconnect schedule")

// sentinelGate spaces the dials to one sentinel on the client's reconnect
// schedule: after k failed dials in a row, the next may come the strategy's
// delay for attempt k after the last failure (its last delay once it gives
// up), and one at a time. Whatever dials the sentinel (a reconnect attempt's
// question, the watcher, go-redis's own pool probing a server whose dials
// failed), a sentinel that is down sees the schedule's attempts, and a dial
// asked for sooner fails at once without touching the network.
type sentinelGate struct {
	c        *Client
	mu       sync.Mutex
	failures int
	delay    time.Duration // the last delay the strategy gave
	next     time.Time     // no dial before
}

// sentinelProbeHold keeps the other dials waiting while one tries a sentinel
// that failed, until it fails or succeeds.
const sentinelProbeHold = time.Second

// allow reports whether a dial may go now, and how long until one may.
func (g *sentinelGate) allow() (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Before(g.next) {
		return g.next.Sub(now), false
	}
	if g.failures > 0 {
		g.next = now.Add(sentinelProbeHold)
	}
	return 0, true
}

func (g *sentinelGate) failed(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures++
	if d, err := g.c.cfg.reconnect.NextDelay(g.failures, cause); err == nil {
		g.delay = d
	}
	g.next = time.Now().Add(max(g.delay, minSentinelRetry))
}

func (g *sentinelGate) succeeded() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = 0
	g.next = time.Time{}
}

// wait returns how long until the next dial may go.
func (g *sentinelGate) wait() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.next)
}

// dialer dials the sentinel through the gate.
func (g *sentinelGate) dialer(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if wait, ok := g.allow(); !ok {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%w (in %v)", errSentinelWait, wait.Round(time.Millisecond))}
		}
		conn, err := dial(ctx, network, addr)
		switch {
		case err == nil:
			g.succeeded()
		case ctx.Err() != nil:
			g.mu.Lock()
			g.next = time.Time{} // the caller gave up: say nothing of the sentinel
			g.mu.Unlock()
		default:
			g.failed(err)
		}
		return conn, err
	}
}

// LimitFailoverReplies holds every connection of a failover client built from
// fo afterwards (redis.NewFailoverClient, NewFailoverClusterClient), those to
// its sentinels included, to the reply limits of opts: its MaxReply… fields,
// zero meaning the default, as New and Wrap read them. Its other fields are
// not read.
//
// Wrap holds the connections to the master of a failover client it guards to
// the limits, but cannot reach those to the sentinels: go-redis dials them
// inside the failover client, with fo.Dialer. Call LimitFailoverReplies on fo
// before building the client, and pass Wrap the same limits:
//
//	fo := &redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: sentinels}
//	if err := redisguard.LimitFailoverReplies(fo, opts); err != nil { … }
//	c, err := redisguard.Wrap(redis.NewFailoverClient(fo), opts)
//
// It replaces fo.Dialer with one that dials with it (or, when it is nil, as
// go-redis does: fo.DialTimeout, fo.TLSConfig) and holds what it dials to the
// limits. A reply over them fails its connection with an error for which
// errors.Is(err, ErrReplyTooLarge) holds, before go-redis allocates for it.
// (The connections to the master are then held twice, by the same limits.)
// A New client with Redis.MasterName needs none of this: it holds its
// sentinels' connections itself.
func LimitFailoverReplies(fo *redis.FailoverOptions, opts Options) error {
	if fo == nil {
		return errors.New("redisguard: LimitFailoverReplies: the FailoverOptions are nil")
	}
	lim, errs := opts.replyLimits()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	dial := fo.Dialer
	if dial == nil {
		dial = redis.NewDialer(&redis.Options{DialTimeout: fo.DialTimeout, TLSConfig: fo.TLSConfig})
	}
	fo.Dialer = wire.LimitedDialer(dial, &lim)
	return nil
}
