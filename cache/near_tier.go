package cache

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

const (
	nearEntryOverhead = 128 // bytes counted per entry besides its key and value
	nearEvictSample   = 8   // entries looked at to choose one to evict
	nearMinSlots      = 64
)

// nearTier is a Cache's store of decoded values in a Near: an open-addressing
// table whose slots readers load atomically and never write, so that a hit
// touches no memory another core writes. Writers (fills, invalidations,
// evictions) hold mu; a deleted slot keeps a tombstone until the table is
// rebuilt, and a rebuild swaps in a new table.
type nearTier[V any] struct {
	near   *Near
	pfx    string
	decode func(string) (V, entryKind, meta, error)
	evict  func() // counts one eviction for the Cache
	seed   maphash.Seed
	tomb   *nearEntry[V] // marks a deleted slot, so that a probe goes on past it

	tab  atomic.Pointer[nearTable[V]]
	mu   sync.Mutex // writers
	used int        // slots not nil (entries and tombstones) in tab
	live int        // entries in tab, reservations included
	hand uint64     // where the eviction sample starts
}

type nearTable[V any] struct {
	slots []atomic.Pointer[nearEntry[V]]
	mask  uint64
}

type entryKind uint8

const (
	kindValue    entryKind = iota
	kindNotFound           // a cached not-found
	kindAbsent             // Redis has no such key
	kindCorrupt            // the value does not decode
)

// nearEntry is the reply of a GET, decoded on first use; or, while reserved,
// the fill marker of a read in flight (see reserve).
type nearEntry[V any] struct {
	key      string
	reserved bool     // a fill marker: never served
	owner    *watcher // the connection that covers the key
	epoch    uint64   // owner's epoch when the read began
	global   uint64   // the Near's epoch when the read began
	readAt   int64    // coarse Unix nanoseconds
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
	t := &nearTier[V]{near: n, pfx: prefix, decode: decode, evict: evict, seed: maphash.MakeSeed(), tomb: &nearEntry[V]{reserved: true}}
	t.tab.Store(newNearTable[V](nearMinSlots))
	return t
}

func newNearTable[V any](slots int) *nearTable[V] {
	return &nearTable[V]{slots: make([]atomic.Pointer[nearEntry[V]], slots), mask: uint64(slots - 1)}
}

func (t *nearTier[V]) prefix() string { return t.pfx }

// find returns key's entry in tab, reservations included.
func (t *nearTier[V]) find(tab *nearTable[V], key string) *nearEntry[V] {
	for i := maphash.String(t.seed, key) & tab.mask; ; i = (i + 1) & tab.mask {
		e := tab.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.key == key && e != t.tomb {
			return e
		}
	}
}

// lookup returns key's entry while it may be served: filled, read less than
// MaxStaleness ago, and the invalidation connection that covers it heard from
// recently. It writes nothing but the entry's recent flag, once.
func (t *nearTier[V]) lookup(key string, now int64) *nearEntry[V] {
	e := t.find(t.tab.Load(), key)
	if e == nil || e.reserved || !e.owner.serving(now) {
		return nil
	}
	if now-e.readAt > int64(t.near.maxStaleness) {
		t.remove(e)
		return nil
	}
	if !e.recent.Load() {
		e.recent.Store(true)
	}
	return e
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

// reserve puts a fill marker for key before its read from Redis, or returns
// nil when nothing read now may be kept (the connection that covers the key
// is not up). An invalidation of key, the loss of that connection or a change
// of the topology removes the marker or moves an epoch, and fill then keeps
// nothing: a value read before an invalidation is never kept after it.
func (t *nearTier[V]) reserve(key string) *nearEntry[V] {
	n := t.near
	w := n.routes.Load().of(t.pfx + key)
	if w == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	global, epoch := n.epoch.Load(), w.epoch.Load()
	if !w.serving(n.clock.nanos()) {
		return nil
	}
	m := &nearEntry[V]{key: key, reserved: true, owner: w, epoch: epoch, global: global}
	t.putLocked(m)
	return m
}

// fill replaces the marker m with the value read, if m is still key's
// entry, no epoch moved since, and the same connection covers the key.
func (t *nearTier[V]) fill(m *nearEntry[V], payload string, absent bool) {
	n := t.near
	t.mu.Lock()
	if t.find(t.tab.Load(), m.key) != m || n.epoch.Load() != m.global || m.owner.epoch.Load() != m.epoch ||
		n.routes.Load().of(t.pfx+m.key) != m.owner {
		t.mu.Unlock()
		return
	}
	e := &nearEntry[V]{key: m.key, owner: m.owner, epoch: m.epoch, global: m.global, readAt: n.clock.nanos(), payload: payload, absent: absent}
	e.size = int64(2*len(m.key)+len(payload)) + nearEntryOverhead
	t.putLocked(e)
	n.entries.Add(1)
	n.bytes.Add(e.size)
	n.fills.Add(1)
	evicted := t.evictLocked(e)
	t.mu.Unlock()
	for range evicted {
		t.evict() // outside the lock: it calls the Observer
	}
}

// cancel removes the marker m if it is still there (the read failed).
func (t *nearTier[V]) cancel(m *nearEntry[V]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.find(t.tab.Load(), m.key) == m {
		t.deleteLocked(m)
	}
}

// putLocked stores e as its key's entry, replacing the one there.
func (t *nearTier[V]) putLocked(e *nearEntry[V]) {
	tab := t.tab.Load()
	free := -1
	for i := maphash.String(t.seed, e.key) & tab.mask; ; i = (i + 1) & tab.mask {
		old := tab.slots[i].Load()
		if old == nil {
			if free < 0 {
				free = int(i)
				t.used++
			}
			break
		}
		if old == t.tomb {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if old.key == e.key {
			t.accountRemoved(old)
			tab.slots[i].Store(e)
			return
		}
	}
	tab.slots[free].Store(e)
	t.live++
	if t.used*2 > len(tab.slots) {
		t.rebuildLocked()
	}
}

// rebuildLocked swaps in a table without tombstones, at most a quarter full.
func (t *nearTier[V]) rebuildLocked() {
	old := t.tab.Load()
	size := max(nearMinSlots, 1<<bits.Len(uint(t.live*4)))
	tab := newNearTable[V](size)
	for i := range old.slots {
		e := old.slots[i].Load()
		if e == nil || e == t.tomb {
			continue
		}
		j := maphash.String(t.seed, e.key) & tab.mask
		for tab.slots[j].Load() != nil {
			j = (j + 1) & tab.mask
		}
		tab.slots[j].Store(e)
	}
	t.used = t.live
	t.tab.Store(tab)
}

// deleteLocked replaces e's slot with a tombstone.
func (t *nearTier[V]) deleteLocked(e *nearEntry[V]) {
	tab := t.tab.Load()
	for i := maphash.String(t.seed, e.key) & tab.mask; ; i = (i + 1) & tab.mask {
		cur := tab.slots[i].Load()
		if cur == nil {
			return
		}
		if cur == e {
			tab.slots[i].Store(t.tomb)
			t.live--
			t.accountRemoved(e)
			return
		}
	}
}

// accountRemoved takes e out of the Near's counts.
func (t *nearTier[V]) accountRemoved(e *nearEntry[V]) {
	if !e.reserved {
		t.near.entries.Add(-1)
		t.near.bytes.Add(-e.size)
	}
}

// evictLocked drops entries other than keep while the Near is over its
// bounds: one not read since it was last looked at, among a few, or the first
// of them.
func (t *nearTier[V]) evictLocked(keep *nearEntry[V]) (evicted int) {
	n := t.near
	for n.entries.Load() > n.maxEntries || n.bytes.Load() > n.maxBytes {
		tab := t.tab.Load()
		var victim *nearEntry[V]
		seen := 0
		for range tab.slots {
			t.hand = (t.hand + 1) & tab.mask
			e := tab.slots[t.hand].Load()
			if e == nil || e == keep || e.reserved {
				continue
			}
			if victim == nil {
				victim = e
			}
			if !e.recent.Load() {
				victim = e
				break
			}
			e.recent.Store(false)
			if seen++; seen == nearEvictSample {
				break
			}
		}
		if victim == nil {
			return evicted // only keep here: another tier evicts on its next fill
		}
		t.deleteLocked(victim)
		n.evictions.Add(1)
		evicted++
	}
	return evicted
}

// drop removes key's entry or marker: Redis invalidated it, or this process
// wrote it.
func (t *nearTier[V]) drop(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.find(t.tab.Load(), key)
	if e == nil {
		return false
	}
	t.deleteLocked(e)
	return !e.reserved
}

// remove drops e if it is still its key's entry.
func (t *nearTier[V]) remove(e *nearEntry[V]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.find(t.tab.Load(), e.key) == e {
		t.deleteLocked(e)
	}
}

func (t *nearTier[V]) dropWhere(drop func(rkey string, owner *watcher) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := 0
	tab := t.tab.Load()
	for i := range tab.slots {
		if e := tab.slots[i].Load(); e != nil && e != t.tomb && drop(t.pfx+e.key, e.owner) {
			t.deleteLocked(e)
			if !e.reserved {
				removed++
			}
		}
	}
	return removed
}

// flush drops every entry and marker, and returns how many entries.
func (t *nearTier[V]) flush() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := 0
	tab := t.tab.Load()
	for i := range tab.slots {
		if e := tab.slots[i].Load(); e != nil && e != t.tomb {
			t.accountRemoved(e)
			if !e.reserved {
				removed++
			}
		}
	}
	t.live, t.used = 0, 0
	t.tab.Store(newNearTable[V](nearMinSlots))
	return removed
}
