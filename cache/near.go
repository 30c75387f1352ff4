package cache

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of NearOptions.
const (
	DefaultNearMaxEntries   = 10_000
	DefaultNearMaxBytes     = 64 << 20
	DefaultNearMaxStaleness = time.Minute
	DefaultNearHeartbeat    = time.Second
)

// NearOptions configures a Near.
type NearOptions struct {
	// MaxEntries bounds the number of values held, over all the Caches that
	// use the Near. Zero means DefaultNearMaxEntries (10,000).
	MaxEntries int

	// MaxBytes bounds their size, counted as the stored size of each value
	// plus twice its key and 128 bytes. Zero means DefaultNearMaxBytes
	// (64 MiB).
	MaxBytes int64

	// MaxStaleness is the longest a value is served from memory after it was
	// read from Redis, whatever Redis said since: the bound on a stale read
	// should invalidations be lost while the invalidation connections answer
	// their heartbeat (which a TCP stream does not do). Zero means
	// DefaultNearMaxStaleness (1 minute).
	MaxStaleness time.Duration

	// Heartbeat is how long an invalidation connection may stay silent: it is
	// pinged after half a Heartbeat without a message, and declared lost when
	// the answer takes a Heartbeat. Nothing is served from memory while a
	// connection has not been heard from for 2 × Heartbeat, which bounds how
	// long a partition goes unnoticed. Zero means DefaultNearHeartbeat (1 s).
	Heartbeat time.Duration
}

// Near is an in-process tier in front of Redis for Caches: it keeps the values
// they read from Redis as decoded values in memory, and Redis itself tells it
// when one changes. Give it to each Cache as Options.Near; nothing else is
// needed, on any deployment a Cache works with (standalone, Sentinel,
// Cluster, any database, any way of giving the password, RESP2 or RESP3):
//
//	near, err := cache.NewNear(cache.NearOptions{})
//	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: time.Hour, Near: near})
//
// While Caches use it, a Near keeps one invalidation connection of its own to
// each server (on a cluster: each master and replica; see the package
// documentation): CLIENT TRACKING in broadcast mode for the Caches'
// prefixes, so that every write of a key under them, by any client,
// invalidates it here as the message arrives. A hit returns the decoded value
// without a Redis call, a decode or an allocation, and writes no memory that
// other cores write.
//
// A value is kept only when no invalidation of its key, no loss of its
// master's connection and no move of its slot came between the start of its
// read and its arrival; what a connection covers is dropped when it is lost
// or remade, and not served while it has not been heard from for 2 ×
// Heartbeat. Values served from memory are shared by every caller: a
// V holding pointers, slices or maps must not be modified by the caller.
//
// A Near serves one Redis deployment: Caches over another one are refused by
// New, as are Caches with overlapping or empty prefixes.
type Near struct {
	maxEntries   int64
	maxBytes     int64
	maxStaleness time.Duration
	heartbeat    time.Duration

	clock coarseClock
	// routes says which connection covers a key; nil while there is none.
	routes atomic.Pointer[nearRoutes]
	// epoch moves when every entry is dropped; a fill keeps its value only
	// within the epoch its read began in (and its connection's, see watcher).
	epoch atomic.Uint64

	mu    sync.Mutex // serializes registration and the start and stop of conns
	tiers atomic.Pointer[[]tierHandle]
	conns *nearConns // running while Caches use the Near
	users int

	entries, bytes                                                  atomic.Int64
	fills, evictions, invalidations, flushes, lost, messages, moves atomic.Uint64
}

// NewNear returns an empty Near.
func NewNear(opts NearOptions) (*Near, error) {
	var errs optionErrors
	switch {
	case opts.MaxEntries < 0:
		errs.add("NearOptions.MaxEntries", "is %d: it must not be negative", opts.MaxEntries)
	case opts.MaxEntries == 0:
		opts.MaxEntries = DefaultNearMaxEntries
	}
	switch {
	case opts.MaxBytes < 0:
		errs.add("NearOptions.MaxBytes", "is %d: it must not be negative", opts.MaxBytes)
	case opts.MaxBytes == 0:
		opts.MaxBytes = DefaultNearMaxBytes
	}
	switch {
	case opts.MaxStaleness < 0:
		errs.add("NearOptions.MaxStaleness", "is %v: it must be positive (it bounds a stale read)", opts.MaxStaleness)
	case opts.MaxStaleness == 0:
		opts.MaxStaleness = DefaultNearMaxStaleness
	}
	switch {
	case opts.Heartbeat < 0 || (opts.Heartbeat > 0 && opts.Heartbeat < 10*time.Millisecond):
		errs.add("NearOptions.Heartbeat", "is %v: it must be at least 10ms", opts.Heartbeat)
	case opts.Heartbeat == 0:
		opts.Heartbeat = DefaultNearHeartbeat
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := &Near{
		maxEntries:   int64(opts.MaxEntries),
		maxBytes:     opts.MaxBytes,
		maxStaleness: opts.MaxStaleness,
		heartbeat:    opts.Heartbeat,
	}
	n.clock.set(time.Now())
	n.tiers.Store(&[]tierHandle{})
	return n, nil
}

// NearStats are the counts of a Near, over all the Caches that use it.
type NearStats struct {
	// Entries and Bytes are the decoded values held now, and their size.
	Entries int
	Bytes   int64
	// Fills counts values read from Redis into memory; Evictions those
	// dropped to stay within the bounds; Invalidations those dropped because
	// Redis invalidated them; Flushes the times all were dropped (a
	// connection lost or made, a topology change, FLUSHALL).
	Fills, Evictions, Invalidations, Flushes uint64
	// Messages counts the invalidation messages received and applied;
	// TopologyChanges the changes of a cluster's slot map, each of which
	// dropped the entries of the slots that moved.
	Messages, TopologyChanges uint64
	// Conns is the number of invalidation connections wanted (one per
	// server: on a cluster, per master and per replica), ConnsUp those
	// subscribed now; ConnsLost counts losses.
	Conns, ConnsUp int
	ConnsLost      uint64
	// LastConnError is why an invalidation connection ended or failed to
	// start last (nil if none has): a server without CLIENT TRACKING (before
	// Redis 6) shows here, and the tier then never serves.
	LastConnError error
	// Serving is true while every connection is up and was heard from
	// within 2 × Heartbeat: values are served from memory. On a cluster, the
	// keys of the masters whose connection is up are served meanwhile.
	Serving bool
}

// Stats returns the counts of the Near.
func (n *Near) Stats() NearStats {
	s := NearStats{
		Entries:         int(n.entries.Load()),
		Bytes:           n.bytes.Load(),
		Fills:           n.fills.Load(),
		Evictions:       n.evictions.Load(),
		Invalidations:   n.invalidations.Load(),
		Flushes:         n.flushes.Load(),
		Messages:        n.messages.Load(),
		TopologyChanges: n.moves.Load(),
		ConnsLost:       n.lost.Load(),
	}
	n.mu.Lock()
	if n.conns != nil {
		s.Conns, s.ConnsUp, s.Serving, s.LastConnError = n.conns.counts(n.clock.nanos())
	}
	n.mu.Unlock()
	return s
}

// tierHandle is the untyped view of a Cache's store of decoded values.
type tierHandle interface {
	prefix() string
	drop(key string) bool
	flush() int
	// dropWhere drops the entries and markers for which drop, given the Redis
	// key and the connection that covers it, is true, and returns how many
	// entries.
	dropWhere(drop func(rkey string, owner *watcher) bool) int
}

// attach registers the store of a Cache over rdb and starts the invalidation
// connections with the first one.
func (n *Near) attach(rdb redis.UniversalClient, t tierHandle) error {
	if t.prefix() == "" {
		return fmt.Errorf("%w: Near needs a Prefix: Redis tracks the keys of a near tier by prefix", ErrInvalidOptions)
	}
	src, err := nearSourceOf(rdb)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns != nil && n.conns.src.key != src.key {
		return fmt.Errorf("%w: Near is used by Caches over %s, not %s: give each Redis deployment its own Near", ErrInvalidOptions, n.conns.src.key, src.key)
	}
	old := *n.tiers.Load()
	for _, o := range old {
		if strings.HasPrefix(t.prefix(), o.prefix()) || strings.HasPrefix(o.prefix(), t.prefix()) {
			return fmt.Errorf("%w: Near is already used by a Cache with Prefix %q, which overlaps %q: give each Cache on a Near its own prefix", ErrInvalidOptions, o.prefix(), t.prefix())
		}
	}
	tiers := append(append([]tierHandle(nil), old...), t)
	n.tiers.Store(&tiers)
	n.users++
	if n.conns == nil {
		n.conns = startNearConns(n, src)
	} else {
		n.conns.retrack() // the connections must track the new prefix too
	}
	return nil
}

// detach removes a Cache's store, and stops the connections with the last.
func (n *Near) detach(t tierHandle) {
	n.mu.Lock()
	old := *n.tiers.Load()
	tiers := make([]tierHandle, 0, len(old))
	for _, o := range old {
		if o != t {
			tiers = append(tiers, o)
		}
	}
	n.tiers.Store(&tiers)
	n.users--
	var conns *nearConns
	if n.users == 0 {
		conns, n.conns = n.conns, nil
	}
	n.mu.Unlock()
	t.flush()
	if conns != nil {
		conns.stop()
	}
}

// prefixes returns the prefixes the connections track.
func (n *Near) prefixes() []string {
	tiers := *n.tiers.Load()
	p := make([]string, len(tiers))
	for i, t := range tiers {
		p[i] = t.prefix()
	}
	return p
}

// invalidate drops the entry of a Redis key Redis invalidated.
func (n *Near) invalidate(rkey string) {
	for _, t := range *n.tiers.Load() {
		if p := t.prefix(); strings.HasPrefix(rkey, p) && len(rkey) > len(p) {
			if t.drop(rkey[len(p):]) {
				n.invalidations.Add(1)
			}
			return
		}
	}
}

// flushAll moves the epoch, so that no read begun before keeps its value,
// and drops every entry.
func (n *Near) flushAll() {
	n.epoch.Add(1)
	for _, t := range *n.tiers.Load() {
		t.flush()
	}
	n.flushes.Add(1)
}

// dropWhere drops, in every tier, the entries for which drop is true.
func (n *Near) dropWhere(drop func(rkey string, owner *watcher) bool) {
	for _, t := range *n.tiers.Load() {
		t.dropWhere(drop)
	}
}
