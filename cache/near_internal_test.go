package cache

import (
	"math"
	"strconv"
	"sync"
	"testing"
)

// testTier returns a tier of a Near that serves (as if its connections were
// up), without connections.
func testTier(t *testing.T, opts NearOptions) (*Near, *nearTier[string]) {
	t.Helper()
	n, err := NewNear(opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{c: &nearConns{near: n}}
	w.serveUntil.Store(math.MaxInt64)
	n.routes.Store(&nearRoutes{single: w})
	decode := func(s string) (string, entryKind, meta, error) { return s, kindValue, meta{}, nil }
	tier := newNearTier[string](n, "p:", decode, func() {})
	n.tiers.Store(&[]tierHandle{tier})
	return n, tier
}

// A value read before an invalidation of its key, or before a connection was
// lost or made, is never kept after it; one read after is.
func TestNearFillMarker(t *testing.T) {
	n, tier := testTier(t, NearOptions{})
	now := n.clock.nanos()

	m := tier.reserve("a")
	n.invalidate("p:a") // arrives while the read is in flight
	tier.fill(m, "old", false)
	if e := tier.lookup("a", now); e != nil {
		t.Fatalf("a value read before its invalidation was kept: %+v", e)
	}

	m = tier.reserve("a")
	n.flushAll() // a connection lost or made meanwhile
	tier.fill(m, "old", false)
	if e := tier.lookup("a", now); e != nil {
		t.Fatalf("a value read before a flush was kept: %+v", e)
	}

	m = tier.reserve("a")
	n.routes.Load().single.drop() // its connection lost meanwhile
	n.routes.Load().single.serveUntil.Store(math.MaxInt64)
	tier.fill(m, "old", false)
	if e := tier.lookup("a", now); e != nil {
		t.Fatalf("a value read before its connection was lost was kept: %+v", e)
	}

	m = tier.reserve("a")
	n.invalidate("p:b") // another key's invalidation does not matter
	tier.fill(m, "new", false)
	if e := tier.lookup("a", now); e == nil || e.payload != "new" {
		t.Fatalf("a value read after the invalidation was not kept: %+v", e)
	}

	n.routes.Load().single.serveUntil.Store(0) // its connection down: nothing reserved, nothing served
	if tier.reserve("b") != nil || tier.lookup("a", now) != nil {
		t.Fatal("reserved or served while not serving")
	}
	if s := n.Stats(); s.Entries != 1 || s.Fills != 1 || s.Invalidations != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// The table stays consistent under concurrent readers while writers fill,
// invalidate and rebuild it, and the Near's counts match what it holds.
func TestNearTableUnderConcurrency(t *testing.T) {
	n, tier := testTier(t, NearOptions{MaxEntries: 500})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := strconv.Itoa((i*7 + w) % 1000)
				if m := tier.reserve(k); m != nil {
					tier.fill(m, "v"+k, false)
				}
				if i%3 == 0 {
					n.invalidate("p:" + strconv.Itoa(i%1000))
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for i := range 20000 {
				k := strconv.Itoa(i % 1000)
				if e := tier.lookup(k, n.clock.nanos()); e != nil {
					if v, _, _, _ := tier.value(e); v != "v"+k {
						t.Errorf("key %s holds %q", k, v)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	live := 0
	tab := tier.tab.Load()
	for i := range tab.slots {
		if e := tab.slots[i].Load(); e != nil && e != tier.tomb && !e.reserved {
			live++
		}
	}
	if s := n.Stats(); s.Entries != live || s.Entries > 500 || s.Evictions == 0 {
		t.Fatalf("stats %+v, %d entries in the table: want them equal, at most 500, and evictions", s, live)
	}
}
