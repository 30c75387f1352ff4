package cache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// rows is a table of the source of truth whose loads can be held open, so
// that a write lands while a load is running: a load reads the row when it
// begins, reports that through began, and returns after its query time, or,
// for a query time of 0, once the row was written.
type rows struct {
	mu      sync.Mutex
	row     map[string]product
	began   map[string]chan struct{}
	written map[string]chan struct{}
	query   time.Duration
}

func newRows(keys []string, query time.Duration) *rows {
	r := &rows{row: map[string]product{}, began: map[string]chan struct{}{}, written: map[string]chan struct{}{}, query: query}
	for _, k := range keys {
		r.row[k] = product{ID: k, Name: "old"}
		r.began[k] = make(chan struct{})
		r.written[k] = make(chan struct{})
	}
	return r
}

func (r *rows) load(_ context.Context, id string) (product, error) {
	r.mu.Lock()
	p := r.row[id]
	began := r.began[id]
	r.mu.Unlock()
	select {
	case <-began:
	default:
		close(began)
	}
	if r.query == 0 {
		<-r.written[id]
	} else {
		time.Sleep(r.query)
	}
	return p, nil
}

// loadNow reads a row without waiting, and reports that its load began.
func (r *rows) loadNow(id string) (product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.began[id]:
	default:
		close(r.began[id])
	}
	return r.row[id], nil
}

func (r *rows) write(_ context.Context, p product) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.row[p.ID] = p
	return nil
}

// undoneWrites runs, for every key at once, instance R's Get of the cold key
// and, while R's load runs (halfway through its query), instance W's Update
// of the row; then a caller of R that came after the Update, and 200 ms
// later instance T, read the key. It returns how many acknowledged Updates
// T found undone, and how many late callers of R got the older value.
func undoneWrites(t *testing.T, client func() redis.UniversalClient, keys []string, query time.Duration) (undone, staleLate int) {
	t.Helper()
	// A generous budget: 120 callers on two cores under the race detector,
	// and what is measured is the cache's order of operations.
	opts := cache.Options{Prefix: "lease:", TTL: 10 * time.Minute, Timeout: time.Second}
	r, w, reader := newCache(t, client(), opts), newCache(t, client(), opts), newCache(t, client(), opts)
	src := newRows(keys, query)
	ctx := context.Background()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if _, err := r.Get(ctx, k, src.load); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			<-src.began[k]
			time.Sleep(query / 2)
			updated := product{ID: k, Name: "new"}
			if err := w.Update(ctx, k, updated, src.write); err != nil {
				t.Error(err)
			}
			close(src.written[k])
			p, err := r.Get(ctx, k, src.load)
			if err != nil {
				t.Error(err)
			}
			if p != updated {
				mu.Lock()
				staleLate++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	for _, k := range keys {
		p, err := reader.Get(ctx, k, src.load)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "new" {
			undone++
		}
	}
	return undone, staleLate
}

func leaseKeys(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return keys
}

// An acknowledged write is never undone by a load that raced it in another
// instance: 40 keys for each query time, the write landing mid-query; on a
// standalone server and on a 3-master Redis Cluster, over guarded clients.
func TestLoadRacingAWriteNeverUndoesIt(t *testing.T) {
	for _, deployment := range []string{"standalone", "cluster"} {
		t.Run(deployment, func(t *testing.T) {
			var addrs []string
			if deployment == "standalone" {
				addrs = []string{redistest.StartServer(t).Addr()}
			} else {
				addrs = redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3}).Addrs()
			}
			client := func() redis.UniversalClient {
				g, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: addrs}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { g.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := g.WaitReady(ctx); err != nil {
					t.Fatal(err)
				}
				return g
			}
			total, undoneAll, lateAll := 0, 0, 0
			for _, query := range []time.Duration{0, 30 * time.Millisecond, 70 * time.Millisecond} {
				keys := leaseKeys(fmt.Sprintf("q%d-", query.Milliseconds()), 40)
				undone, late := undoneWrites(t, client, keys, query)
				t.Logf("%s, query %v: %d of %d acknowledged Updates undone; %d later callers of the loading instance got the older value",
					deployment, query, undone, len(keys), late)
				total += len(keys)
				undoneAll += undone
				lateAll += late
			}
			if undoneAll != 0 || lateAll != 0 {
				t.Fatalf("%s: %d of %d acknowledged Updates undone by a racing load, %d later callers got the older value; want none",
					deployment, undoneAll, total, lateAll)
			}
		})
	}
}

// GetMany's loads store under leases too: a batch load that an Update in
// another instance overtook stores nothing for that key.
func TestGetManyRacingAWriteNeverUndoesIt(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := cache.Options{Prefix: "many-lease:", TTL: 10 * time.Minute, Timeout: time.Second}
	r, w, reader := newCache(t, plain(t, srv.Addr()), opts), newCache(t, plain(t, srv.Addr()), opts), newCache(t, plain(t, srv.Addr()), opts)
	keys := leaseKeys("m", 20)
	src := newRows(keys, 0)
	allWritten := make(chan struct{})
	loadMany := func(ctx context.Context, ids []string) (map[string]product, error) {
		out := map[string]product{}
		for _, id := range ids {
			p, _ := src.loadNow(id)
			out[id] = p
		}
		<-allWritten
		return out, nil
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := r.GetMany(ctx, keys, loadMany)
		done <- err
	}()
	for _, k := range keys {
		<-src.began[k]
	}
	for _, k := range keys[:10] { // half the keys written while the batch loads
		if err := w.Update(ctx, k, product{ID: k, Name: "new"}, src.write); err != nil {
			t.Fatal(err)
		}
	}
	close(allWritten)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	undone, stored := 0, 0
	for i, k := range keys {
		p, err := reader.Get(ctx, k, src.load)
		if err != nil {
			t.Fatal(err)
		}
		if i < 10 && p.Name != "new" {
			undone++
		}
		if i >= 10 && p.Name == "old" {
			stored++
		}
	}
	t.Logf("GetMany racing 10 Updates: %d undone; %d of the 10 other keys stored by the batch", undone, stored)
	if undone != 0 || stored != 10 {
		t.Fatalf("%d of 10 acknowledged Updates undone by GetMany, %d of 10 other keys stored; want 0 and 10", undone, stored)
	}
}

// Under 200 ms of Redis latency every read of instance R fails its 100 ms
// budget and the loader answers: a caller of R that came after another
// instance's acknowledged write, and joined R's load of the key, gets a
// second load, not the value R read before the write.
func TestLateCallerOfAFallbackLoadGetsANewerValue(t *testing.T) {
	srv := redistest.StartServer(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	proxy.Latency(100 * time.Millisecond) // each way
	opts := cache.Options{Prefix: "slow-lease:", TTL: 10 * time.Minute}
	r := newCache(t, plain(t, proxy.Addr()), opts)
	w := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: "slow-lease:", TTL: 10 * time.Minute, Timeout: time.Second})
	keys := leaseKeys("k", 10)
	src := newRows(keys, 300*time.Millisecond)
	ctx := context.Background()
	var mu sync.Mutex
	older := 0
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if _, err := r.Get(ctx, k, src.load); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			<-src.began[k]
			updated := product{ID: k, Name: "new"}
			if err := w.Update(ctx, k, updated, src.write); err != nil {
				t.Error(err)
			}
			p, err := r.Get(ctx, k, src.load) // its read fails too, and joins R's load
			if err != nil {
				t.Error(err)
			}
			if p != updated {
				mu.Lock()
				older++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s := r.Stats()
	t.Logf("200 ms round trip, 100 ms budget: %d of %d callers that came after the write got the older value; R's stats %+v", older, len(keys), s)
	if s.Fallbacks == 0 {
		t.Fatal("no fallback: the case needs R's reads to fail")
	}
	if older != 0 {
		t.Fatalf("%d of %d callers that came after an acknowledged write got the older value", older, len(keys))
	}
}
