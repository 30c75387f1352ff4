package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A second Get of a key is answered from memory, without a Redis call, and a
// cached not-found too.
func TestNearServesHitsFromMemory(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	c, near := nearCache(t, proxy.Addr(), cache.NearOptions{}, cache.Options{Prefix: "n:", NegativeTTL: time.Minute})
	src := newSource(2)
	ctx := context.Background()
	for _, id := range []string{"a", "missing"} {
		_, _ = c.Get(ctx, id, src.load)
	}
	// The first reads of a key fill the near tier; from then on, no Redis call.
	for _, id := range []string{"a", "missing"} {
		_, _ = c.Get(ctx, id, src.load)
	}
	before := proxy.Requests()
	for range 100 {
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("near hit: %+v, %v", p, err)
		}
		if _, err := c.Get(ctx, "missing", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("near negative hit: %v", err)
		}
	}
	if n := proxy.Requests() - before; n != 0 {
		t.Fatalf("%d requests reached Redis for 200 Gets of keys in the near tier", n)
	}
	s := c.Stats()
	if s.NearHits < 100 || s.NearNegativeHits < 100 {
		t.Fatalf("stats %+v: want the 200 Gets counted as near hits", s)
	}
	if ns := near.Stats(); ns.Entries != 2 || ns.Fills < 2 {
		t.Fatalf("near stats %+v", ns)
	}
	if n := src.loads.Load(); n != 2 {
		t.Fatalf("%d loads", n)
	}
}

// It works through a redisguard client in database 3 with a PasswordFile
// (a credentials provider to go-redis), with Options.Near alone.
func TestNearThroughRedisguardDB3PasswordFile(t *testing.T) {
	srv := redistest.StartServer(t, "requirepass near-secret")
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("near-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rdb := guardedReady(t, redisguard.Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}, DB: 3},
		PasswordFile: path,
	})
	c, _ := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: "g:"})
	ctx := context.Background()
	src := newSource(1)
	if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
		t.Fatal(p, err)
	}
	// The next Gets fill (the store's own invalidation, late on a loaded
	// host, may discard a fill); from the first hit on, all come from memory.
	nearHit(t, c, "a", src.load)
	before := c.Stats()
	for range 10 {
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatal(p, err)
		}
	}
	if s := c.Stats(); s.NearHits-before.NearHits != 10 || s.Hits != before.Hits {
		t.Fatalf("stats %+v, before %+v: want 10 near hits through a redisguard client", s, before)
	}
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "near-secret", DB: 3})
	defer admin.Close()
	if n, err := admin.Exists(ctx, "g:a").Result(); err != nil || n != 1 {
		t.Fatalf("g:a in db 3: %d, %v", n, err)
	}
	writer := newCache(t, admin, cache.Options{Prefix: "g:"})
	measureWriteSeen(t, "db 3 with a PasswordFile", c, writer, 30)
	c.Close()
}

// Another instance's write is seen by a near-cache reader within 50 ms at
// p99, over a RESP2 and a RESP3 client with Options.Near alone.
func TestNearSeesAnotherInstancesWrite(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, protocol := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", protocol), func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: protocol})
			defer rdb.Close()
			reader, _ := nearReader(t, rdb, cache.NearOptions{}, cache.Options{Prefix: fmt.Sprintf("w%d:", protocol)})
			writer := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: fmt.Sprintf("w%d:", protocol)})
			measureWriteSeen(t, fmt.Sprintf("standalone, RESP%d", protocol), reader, writer, 100)
			reader.Close()
		})
	}
}

// With Redis killed, the near tier stops serving at once: its invalidation
// connection breaks, and everything it covered is dropped.
func TestNearStopsServingWhenRedisIsKilled(t *testing.T) {
	srv := redistest.StartServer(t)
	const maxStaleness = time.Second
	c, near := nearCache(t, srv.Addr(), cache.NearOptions{MaxStaleness: maxStaleness}, cache.Options{Prefix: "k:"})
	src := newSource(1)
	ctx := context.Background()
	nearHit(t, c, "a", src.load)
	srv.Kill()
	killed := time.Now()
	var last time.Duration
	for time.Since(killed) < maxStaleness+500*time.Millisecond {
		before := c.Stats().NearHits
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("Get with Redis killed: %+v, %v", p, err)
		}
		if c.Stats().NearHits > before {
			last = time.Since(killed)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("last near hit %v after Redis was killed (MaxStaleness %v); %+v", last.Round(time.Microsecond), maxStaleness, near.Stats())
	if last > 500*time.Millisecond {
		t.Fatalf("a near hit %v after Redis was killed: want none once its connection broke", last)
	}
	if s := near.Stats(); s.Entries != 0 || s.ConnsLost == 0 || s.Serving {
		t.Fatalf("near stats %+v: want the entries dropped and the connection lost", s)
	}
}

// When invalidations are lost (a partition that leaves the connection open),
// nothing is served from memory 2 × Heartbeat after the connection was last
// heard from, however long MaxStaleness is.
func TestNearBoundsStalenessWhenInvalidationsAreLost(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	const heartbeat = 200 * time.Millisecond
	reader, near := nearCache(t, proxy.Addr(), cache.NearOptions{Heartbeat: heartbeat, MaxStaleness: time.Hour}, cache.Options{Prefix: "b:"})
	writer := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: "b:"})
	src := newSource(1)
	old := src.products["a"]
	ctx := context.Background()
	nearHit(t, reader, "a", src.load)
	proxy.Blackhole()
	cut := time.Now()
	updated := product{ID: "a", Name: "new", Price: 3}
	if err := writer.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatal(err)
	}
	lastOld := lastServed(t, reader, src, "a", old, cut.Add(2*heartbeat+time.Second))
	t.Logf("with invalidations lost, the old value was served until %v after the cut (Heartbeat %v); %+v",
		lastOld.Sub(cut).Round(time.Millisecond), heartbeat, near.Stats())
	// The slack is for the coarse clock and the scheduling of a loaded
	// machine; a stale read would go on for MaxStaleness, an hour.
	if lastOld.Sub(cut) > 2*heartbeat+100*time.Millisecond {
		t.Fatalf("the old value was served %v after the cut: past 2 × Heartbeat", lastOld.Sub(cut))
	}
	proxy.Heal()
}

// The invalidation connection killed by the server (CLIENT KILL), the server
// restarted empty, FLUSHALL: each drops every entry before the next hit, and
// the tier serves again afterwards.
func TestNearDropsEverythingOnConnectionFaults(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := plain(t, srv.Addr())
	ctx := context.Background()
	faults := []struct {
		name  string
		fault func(t *testing.T)
	}{
		{"CLIENT KILL TYPE pubsub", func(t *testing.T) {
			if err := admin.Do(ctx, "client", "kill", "type", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"CLIENT KILL ID", func(t *testing.T) {
			list, err := admin.ClientList(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(list, "\n") {
				if strings.Contains(line, "name=redisguard-near") {
					id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
					if err := admin.Do(ctx, "client", "kill", "id", id).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
		{"FLUSHALL", func(t *testing.T) {
			if err := admin.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"restart empty", func(t *testing.T) { srv.Restart() }},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			c, near := nearCache(t, srv.Addr(), cache.NearOptions{MaxStaleness: time.Hour}, cache.Options{Prefix: fmt.Sprintf("f%d:", i)})
			src := newSource(1)
			nearHit(t, c, "a", src.load)
			lost := near.Stats().ConnsLost
			f.fault(t)
			redistest.Eventually(t, 5*time.Second, "the entries dropped", func() bool {
				s := near.Stats()
				return s.Entries == 0 && (s.ConnsLost > lost || f.name == "FLUSHALL")
			})
			// Back: the key is read from Redis (or loaded) again, and served
			// from memory once the connection is up again.
			waitServing(t, near)
			nearHit(t, c, "a", src.load)
			t.Logf("%s: %+v", f.name, near.Stats())
		})
	}
}

// An Update of this process is never followed by a read of the old value from
// its own memory.
func TestNearReadsItsOwnWrites(t *testing.T) {
	srv := redistest.StartServer(t)
	c, _ := nearCache(t, srv.Addr(), cache.NearOptions{}, cache.Options{Prefix: "own:"})
	src := newSource(1)
	ctx := context.Background()
	for i := range 50 {
		for range 3 {
			if _, err := c.Get(ctx, "a", src.load); err != nil {
				t.Fatal(err)
			}
		}
		want := product{ID: "a", Price: float64(i)}
		if err := c.Update(ctx, "a", want, src.write); err != nil {
			t.Fatal(err)
		}
		if p, err := c.Get(ctx, "a", src.load); err != nil || p != want {
			t.Fatalf("Get right after Update: %+v, %v, want %+v", p, err, want)
		}
	}
	if c.Stats().NearHits == 0 {
		t.Fatal("no near hit: the test proves nothing")
	}
}

// Entries are bounded in number: evictions keep the near tier within
// MaxEntries, and are counted.
func TestNearIsBounded(t *testing.T) {
	srv := redistest.StartServer(t)
	var results resultLog
	c, near := nearCache(t, srv.Addr(), cache.NearOptions{MaxEntries: 50}, cache.Options{Prefix: "bound:", Observer: results.record})
	ctx := context.Background()
	load := func(_ context.Context, id string) (product, error) { return product{ID: id}, nil }
	for round := range 2 {
		for i := range 200 {
			if p, err := c.Get(ctx, itoa(i), load); err != nil || p.ID != itoa(i) {
				t.Fatalf("round %d: %+v, %v", round, p, err)
			}
		}
	}
	ns := near.Stats()
	t.Logf("near stats after 400 Gets of 200 keys with MaxEntries 50: %+v", ns)
	if ns.Entries > 50+16 || ns.Evictions == 0 {
		t.Fatalf("near stats %+v: want at most about 50 entries, and evictions", ns)
	}
	if s := c.Stats(); s.NearEvictions != ns.Evictions || results.count(cache.ResultNearEviction) != int(ns.Evictions) {
		t.Fatalf("stats %+v: evictions not counted", s)
	}
}

// tagged is a value with a slice: shared by the callers of near hits.
type tagged struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags"`
}

// Values served from memory are shared. Readers that only read them are
// safe with each other (under -race), and a caller that changes its copy of a
// struct value changes only that copy.
func TestNearValuesAreSharedSafely(t *testing.T) {
	srv := redistest.StartServer(t)
	near := newNear(t, cache.NearOptions{})
	c, err := cache.New[tagged](plain(t, srv.Addr()), cache.Options{Prefix: "s:", TTL: time.Minute, Near: near})
	if err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	ctx := context.Background()
	load := func(_ context.Context, id string) (tagged, error) {
		return tagged{ID: id, Tags: []string{"x", "y"}}, nil
	}
	// Until its invalidation connection is up, the tier serves nothing: read
	// until a Get is a near hit.
	for deadline := time.Now().Add(5 * time.Second); c.Stats().NearHits == 0; {
		if _, err := c.Get(ctx, "a", load); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: no near hit within 5 s", c.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	nearBefore := c.Stats().NearHits
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				v, err := c.Get(ctx, "a", load)
				if err != nil || strings.Join(v.Tags, ",") != "x,y" {
					t.Errorf("%+v, %v", v, err)
					return
				}
				v.ID = "changed by a caller" // its own copy of the struct
			}
		})
	}
	wg.Wait()
	if v, _ := c.Get(ctx, "a", load); v.ID != "a" {
		t.Fatalf("a caller's change reached the shared value: %+v", v)
	}
	if c.Stats().NearHits-nearBefore < 8000 {
		t.Fatalf("stats %+v: the reads were not near hits", c.Stats())
	}
}

// Two Caches on one Near must not claim the same keys, a Near serves one
// deployment, and a Ring or an empty prefix is refused.
func TestNearRegistration(t *testing.T) {
	srv := redistest.StartServer(t)
	near := newNear(t, cache.NearOptions{})
	rdb := plain(t, srv.Addr())
	newCache(t, rdb, cache.Options{Prefix: "product:", Near: near})
	for _, prefix := range []string{"product:", "product:eu:", "prod", ""} {
		if _, err := cache.New[product](rdb, cache.Options{Prefix: prefix, TTL: time.Minute, Near: near}); !errors.Is(err, cache.ErrInvalidOptions) {
			t.Errorf("a second Cache with Prefix %q on the Near: %v, want ErrInvalidOptions", prefix, err)
		}
	}
	other := newCache(t, rdb, cache.Options{Prefix: "user:", Near: near})
	other.Close() // its prefix is free again
	newCache(t, rdb, cache.Options{Prefix: "user:", Near: near})
	other2 := redistest.StartServer(t)
	_, err := cache.New[product](plain(t, other2.Addr()), cache.Options{Prefix: "order:", TTL: time.Minute, Near: near})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "deployment") {
		t.Errorf("a Cache over another server on the Near: %v", err)
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": srv.Addr()}})
	defer ring.Close()
	_, err = cache.New[product](ring, cache.Options{Prefix: "ring:", TTL: time.Minute, Near: newNear(t, cache.NearOptions{})})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "Ring") {
		t.Errorf("a Ring: %v", err)
	}
	replicas := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}, ReadOnly: true})
	defer replicas.Close()
	_, err = cache.New[product](replicas, cache.Options{Prefix: "ro:", TTL: time.Minute, Near: newNear(t, cache.NearOptions{})})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "ReadOnly") {
		t.Errorf("a cluster client reading from replicas: %v", err)
	}
	_, err = cache.New[product](rdb, cache.Options{TTL: time.Minute, Near: newNear(t, cache.NearOptions{})})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "Prefix") {
		t.Errorf("an empty Prefix: %v", err)
	}
}

func ExampleNear() {
	near, err := cache.NewNear(cache.NearOptions{MaxEntries: 50_000})
	if err != nil {
		panic(err)
	}
	// Any deployment: a cluster here, where one shard takes every read of a
	// hot key without the near tier.
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{
		Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
	}})
	if err != nil {
		panic(err)
	}
	defer rdb.Close()
	products, err := cache.New[product](rdb, cache.Options{Prefix: "product:", TTL: 10 * time.Minute, Near: near})
	if err != nil {
		panic(err)
	}
	defer products.Close()
	p, err := products.Get(context.Background(), "42", func(ctx context.Context, id string) (product, error) {
		return product{ID: id}, nil // the database
	})
	fmt.Println(p.ID, err, products.Stats().NearHits, near.Stats().Entries)
}
