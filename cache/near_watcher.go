package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// watcher is the supervisor of one invalidation connection, and what the
// entries it covers consult on every hit.
type watcher struct {
	c    *nearConns
	opts *redis.Options
	halt context.CancelFunc

	// serveUntil is the coarse time until which the entries this connection
	// covers may be served: the earliest aliveUntil of the connection and of
	// its standbys', 0 while one of them is down. Written a few times per
	// Heartbeat.
	serveUntil atomic.Int64
	// epoch moves when the connection is lost or made: a fill keeps its value
	// only within the epoch its read began in.
	epoch atomic.Uint64

	// Guarded by c.mu.
	up  bool
	gen uint64        // sessions started
	ps  *redis.PubSub // the session's subscription, nil between sessions
	// aliveUntil is the connection's last sign of life plus 2 × Heartbeat,
	// 0 while it is down.
	aliveUntil int64
	// On a cluster, a master's connection has its replicas' as standbys, and
	// a replica's names its master's as primary: a replica may be promoted
	// before the slot map is read again, and its writes then reach the tier
	// only on its own connection, so a master's entries are served only
	// while every connection of its shard is alive.
	primary  *watcher
	standbys []*watcher
	// promotedAt is when this replica's connection delivered an
	// invalidation: a replica sends none for the writes it replicates, so it
	// was promoted and takes writes. Its master's entries are dropped and
	// not served again until the slot map says who serves them.
	promotedAt time.Time
	// standby is primary != nil, for the session to read without the lock.
	standby atomic.Bool
}

// serving reports whether w's entries may be served at now; a nil w covers
// nothing.
func (w *watcher) serving(now int64) bool { return w != nil && now < w.serveUntil.Load() }

// drop drops every entry w covers, after moving its epoch so that no read in
// flight keeps its value.
func (w *watcher) drop() {
	w.epoch.Add(1)
	w.c.near.dropWhere(func(_ string, owner *watcher) bool { return owner == w })
	w.c.near.flushes.Add(1)
}

// publishLocked sets the serving bound of the shard w belongs to: its
// master's connection's and its replicas' earliest. c.mu is held.
func (w *watcher) publishLocked() {
	m := w
	if w.primary != nil {
		m = w.primary
	}
	until := m.aliveUntil
	for _, s := range m.standbys {
		until = min(until, s.aliveUntil)
		if !s.promotedAt.IsZero() {
			until = 0
		}
	}
	m.serveUntil.Store(until)
	if m != w {
		w.serveUntil.Store(w.aliveUntil)
	}
}

// run keeps the connection up until ctx ends.
func (w *watcher) run(ctx context.Context) {
	backoff := nearMinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := w.session(ctx)
		w.down(err)
		if time.Since(start) > nearMaxBackoff {
			backoff = nearMinBackoff // a session that lasted starts the backoff over
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, nearMaxBackoff)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

var (
	errHeartbeat = errors.New("cache: the invalidation connection missed its heartbeat")
	errRetrack   = errors.New("cache: the prefixes to track changed")
	errMoved     = errors.New("cache: the client moved to another server")
)

// session makes one connection, subscribes it to its own invalidations and
// applies them until it fails.
func (w *watcher) session(ctx context.Context) error {
	n := w.c.near
	prefixes := n.prefixes()
	o := *w.opts
	var served string // the server the client's own connections go to
	if w.c.src.resolve != nil {
		rctx, cancel := context.WithTimeout(ctx, n.heartbeat)
		addr, err := w.c.src.resolve(rctx)
		cancel()
		if err != nil {
			return err
		}
		o.Addr, served = addr, addr
	}
	o.Protocol = 2 // invalidations come as messages on a subscribed connection
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		args := []any{"client", "tracking", "on", "redirect", id, "bcast"}
		for _, p := range prefixes {
			args = append(args, "prefix", p)
		}
		return cn.Do(ctx, args...).Err()
	}
	o.ClientName = "redisguard-near"
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxActiveConns = 1, 0, 0, 0
	o.MaxRetries = -1
	o.ReadTimeout, o.WriteTimeout, o.ContextTimeoutEnabled = n.heartbeat, n.heartbeat, true
	o.Limiter = nil
	o.ClientSideCache, o.ClientSideCacheConfig = nil, nil
	o.PushNotificationProcessor, o.MaintNotificationsConfig, o.AutoPipelineOptions = nil, nil, nil
	o.ConnMaxLifetime, o.ConnMaxIdleTime = 0, 0
	client := redis.NewClient(&o)
	defer client.Close()

	sctx, cancel := context.WithTimeout(ctx, 2*n.heartbeat)
	ps := client.Subscribe(sctx, invalidateChannel)
	cancel()
	defer ps.Close()
	w.c.mu.Lock()
	if ctx.Err() != nil || !slices.Equal(prefixes, n.prefixes()) {
		w.c.mu.Unlock()
		return errRetrack
	}
	w.ps = ps
	w.gen++
	gen := w.gen
	w.c.mu.Unlock()

	msg, err := ps.ReceiveTimeout(ctx, 2*n.heartbeat)
	if err != nil {
		return err
	}
	if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "subscribe" {
		return errors.New("cache: the invalidation connection did not subscribe")
	}
	w.markUp(gen)

	// A PING goes out after half a Heartbeat of silence, so that a sign of
	// life comes well within the 2 × Heartbeat the tier serves for, even when
	// this goroutine waits for a core; its PONG is due within a Heartbeat.
	var pingedAt time.Time // zero while no PING is outstanding
	last := n.clock.nanos()
	for {
		msg, err := ps.ReceiveTimeout(ctx, n.heartbeat/2)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if !pingedAt.IsZero() {
				if time.Since(pingedAt) >= n.heartbeat {
					return errHeartbeat
				}
				continue
			}
			if served != "" {
				// The client may have moved to another server (a Sentinel
				// failover): this connection must follow it.
				rctx, cancel := context.WithTimeout(ctx, n.heartbeat)
				addr, err := w.c.src.resolve(rctx)
				cancel()
				if err == nil && addr != served {
					return errMoved
				}
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			pingedAt = time.Now()
			continue
		default:
			// A closed or broken connection, or a message go-redis cannot
			// read: the null of a FLUSHALL or FLUSHDB is one. Each ends the
			// session, which drops everything.
			return err
		}
		if _, ok := msg.(*redis.Pong); ok {
			pingedAt = time.Time{}
		}
		if m, ok := msg.(*redis.Message); ok && m.Channel == invalidateChannel {
			if w.standby.Load() {
				w.promoted()
			}
			for _, k := range m.PayloadSlice {
				n.invalidate(k)
			}
			if m.Payload != "" {
				n.invalidate(m.Payload)
			}
			n.messages.Add(1) // once applied: a reader that sees the count sees the drops

		}
		if now := n.clock.nanos(); now-last >= int64(n.heartbeat)/4 {
			last = now
			w.heard(gen, now)
		}
	}
}

// promoted marks a replica's connection as its master's successor's: its
// master's entries are dropped (a read of the old master, which may answer
// until it hears of the promotion, keeps nothing) and not served until the
// slot map is read again, now.
func (w *watcher) promoted() {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.primary == nil || !w.promotedAt.IsZero() {
		return
	}
	w.promotedAt = time.Now()
	w.publishLocked()
	w.primary.drop()
	select {
	case w.c.reread <- struct{}{}:
	default:
	}
}

// markUp marks the connection subscribed: what it covered is dropped (a read
// in flight while it was down keeps nothing), and a replica's master's too
// (the replica may have been promoted meanwhile and taken writes the tier
// never heard of); then its shard's entries are served.
func (w *watcher) markUp(gen uint64) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.gen != gen {
		return
	}
	w.drop()
	if w.primary != nil {
		w.primary.drop()
	}
	w.up = true
	w.aliveUntil = w.c.near.clock.nanos() + 2*int64(w.c.near.heartbeat)
	w.publishLocked()
}

// heard records a sign of life of session gen; the session reports one a
// quarter of a heartbeat at most, not every message.
func (w *watcher) heard(gen uint64, now int64) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.gen != gen || !w.up {
		return
	}
	w.aliveUntil = now + 2*int64(w.c.near.heartbeat)
	w.publishLocked()
}

// down marks the connection lost and drops everything it covered.
func (w *watcher) down(err error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if ctx := w.c.ctx; ctx.Err() == nil && !errors.Is(err, errRetrack) {
		w.c.lastErr = fmt.Errorf("%s: %w", w.opts.Addr, err)
	}
	w.ps = nil
	if w.up {
		w.c.near.lost.Add(1)
	}
	w.up = false
	w.aliveUntil = 0
	w.publishLocked()
	w.drop()
}
