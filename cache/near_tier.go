package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	nearShards        = 16
	nearEntryOverhead = 128 // bytes counted per entry besides its key and value
	nearEvictSample   = 8   // entries looked at to choose one to evict
)

// nearTier is a Cache's store of decoded values in a Near.
type nearTier[V any] struct {
	near   *Near
	pfx    string
	decode func(string) (V, entryKind, meta, error)
	evict  func() // counts one eviction for the Cache
	shards [nearShards]nearShard[V]
}

type nearShard[V any] struct {
	mu      sync.RWMutex
	m       map[string]*nearEntry[V]
	byOwner map[uint64]map[string]struct{}
	_       [40]byte // keeps shards on their own cache lines
}

type entryKind uint8

const (
	kindValue    entryKind = iota
	kindNotFound           // a cached not-found
	kindAbsent             // Redis has no such key
	kindCorrupt            // the value does not decode
)

// nearEntry is the reply of a GET, decoded on first use.
type nearEntry[V any] struct {
	cacheKey string
	owner    uint64
	readAt   time.Time
	size     int64
	payload  string // the stored bytes; "" once decoded
	absent   bool

	decoded atomic.Bool // v, kind and meta are set
	mu      sync.Mutex  // serializes the decode
	v       V
	kind    entryKind
	meta    meta
	err     error // the decode's, for kindCorrupt

	recent atomic.Bool // read since it was last considered for eviction
}

func newNearTier[V any](n *Near, prefix string, decode func(string) (V, entryKind, meta, error), evict func()) *nearTier[V] {
	t := &nearTier[V]{near: n, pfx: prefix, decode: decode, evict: evict}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*nearEntry[V])
		t.shards[i].byOwner = make(map[uint64]map[string]struct{})
	}
	return t
}

func (t *nearTier[V]) prefix() string { return t.pfx }

func (t *nearTier[V]) shard(key string) *nearShard[V] {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &t.shards[h%nearShards]
}

// lookup returns key's entry while it may be served: read less than
// MaxStaleness ago.
func (t *nearTier[V]) lookup(key string, now time.Time) *nearEntry[V] {
	s := t.shard(key)
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	if e == nil {
		return nil
	}
	if now.Sub(e.readAt) > t.near.maxStaleness {
		t.remove(key, e)
		return nil
	}
	if !e.recent.Load() {
		e.recent.Store(true)
	}
	return e
}

// has reports whether key has an entry.
func (t *nearTier[V]) has(key string) bool {
	s := t.shard(key)
	s.mu.RLock()
	_, ok := s.m[key]
	s.mu.RUnlock()
	return ok
}

// value decodes e once and returns what it holds.
func (t *nearTier[V]) value(e *nearEntry[V]) (V, entryKind, meta, error) {
	if !e.decoded.Load() {
		e.mu.Lock()
		if !e.decoded.Load() {
			if e.absent {
				e.kind = kindAbsent
			} else {
				e.v, e.kind, e.meta, e.err = t.decode(e.payload)
				e.payload = ""
			}
			e.decoded.Store(true)
		}
		e.mu.Unlock()
	}
	return e.v, e.kind, e.meta, e.err
}

func (t *nearTier[V]) fulfill(key, cacheKey string, reply []byte, owner uint64, publish func() bool) bool {
	payload, absent, ok := parseGetReply(reply)
	s := t.shard(key)
	s.mu.Lock()
	if !publish() {
		s.mu.Unlock()
		return false
	}
	if !ok {
		s.mu.Unlock()
		return true
	}
	e := &nearEntry[V]{cacheKey: cacheKey, owner: owner, readAt: time.Now(), payload: payload, absent: absent}
	e.size = int64(len(key)+len(cacheKey)+len(payload)) + nearEntryOverhead
	if old := s.m[key]; old != nil {
		t.removeLocked(s, key, old)
	}
	s.m[key] = e
	if owner != 0 {
		keys := s.byOwner[owner]
		if keys == nil {
			keys = make(map[string]struct{})
			s.byOwner[owner] = keys
		}
		keys[key] = struct{}{}
	}
	t.near.entries.Add(1)
	t.near.bytes.Add(e.size)
	t.near.fills.Add(1)
	evicted := t.evictLocked(s, e)
	s.mu.Unlock()
	for range evicted {
		t.evict() // outside the lock: it calls the Observer
	}
	return true
}

// evictLocked drops entries of s other than keep while the Near is over its
// bounds: an entry not read since it was last looked at, among a few, or the
// first of them. The raw reply goes with it, so that the next read of the key
// fetches it and fills this store again.
func (t *nearTier[V]) evictLocked(s *nearShard[V], keep *nearEntry[V]) (evicted int) {
	n := t.near
	for n.entries.Load() > n.maxEntries || n.bytes.Load() > n.maxBytes {
		var victimKey string
		var victim *nearEntry[V]
		seen := 0
		for k, e := range s.m {
			if e == keep {
				continue
			}
			if victim == nil {
				victimKey, victim = k, e
			}
			if !e.recent.Load() {
				victimKey, victim = k, e
				break
			}
			e.recent.Store(false)
			if seen++; seen == nearEvictSample {
				break
			}
		}
		if victim == nil {
			return evicted // only keep here: another shard evicts on its next fill
		}
		t.removeLocked(s, victimKey, victim)
		n.raw.DeleteByCacheKey(victim.cacheKey)
		n.evictions.Add(1)
		evicted++
	}
	return evicted
}

func (t *nearTier[V]) drop(key string, also func()) bool {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	also()
	e := s.m[key]
	if e == nil {
		return false
	}
	t.removeLocked(s, key, e)
	return true
}

// remove drops e if it is still key's entry, and the raw reply with it.
func (t *nearTier[V]) remove(key string, e *nearEntry[V]) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[key] == e {
		t.removeLocked(s, key, e)
		t.near.raw.DeleteByCacheKey(e.cacheKey)
	}
}

func (t *nearTier[V]) evictConn(owner uint64) int {
	removed := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for key := range s.byOwner[owner] {
			if e := s.m[key]; e != nil {
				t.removeLocked(s, key, e)
				removed++
			}
		}
		s.mu.Unlock()
	}
	return removed
}

func (t *nearTier[V]) flush() int {
	removed := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for key, e := range s.m {
			t.removeLocked(s, key, e)
			removed++
		}
		s.mu.Unlock()
	}
	return removed
}

func (t *nearTier[V]) removeLocked(s *nearShard[V], key string, e *nearEntry[V]) {
	delete(s.m, key)
	if keys := s.byOwner[e.owner]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(s.byOwner, e.owner)
		}
	}
	t.near.entries.Add(-1)
	t.near.bytes.Add(-e.size)
}
