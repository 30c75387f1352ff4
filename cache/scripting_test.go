package cache_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The scripts gone from the server (SCRIPT FLUSH, as after a restart or a
// failover) are sent again: the leases keep working, silently.
func TestLeasesSurviveScriptFlush(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	ctx := context.Background()
	var log syncBuffer
	c := newCache(t, plain(t, srv.Addr()), cache.Options{Prefix: "flush:", Logger: slog.New(slog.NewTextHandler(&log, nil))})
	src := newSource(2)
	if _, err := c.Get(ctx, "a", src.load); err != nil {
		t.Fatal(err)
	}
	if err := direct.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if p, err := c.Get(ctx, "b", src.load); err != nil || p != src.products["b"] {
		t.Fatalf("a miss after SCRIPT FLUSH: %+v, %v", p, err)
	}
	if err := c.Set(ctx, "a", product{ID: "a", Name: "set"}); err != nil {
		t.Fatalf("Set after SCRIPT FLUSH: %v", err)
	}
	if n := direct.Exists(ctx, "flush:b").Val(); n != 1 {
		t.Fatal("the value loaded after SCRIPT FLUSH was not stored")
	}
	if s := c.Stats(); s.LeasesOff != 0 || s.UnleasedStores != 0 || log.String() != "" {
		t.Fatalf("stats %+v, log %q: the leases must stay on", s, log.String())
	}
	if err := direct.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	keys := leaseKeys("flushed-", 20)
	client := func() redis.UniversalClient { return plain(t, srv.Addr()) }
	if undone, late := undoneWrites(t, client, keys, 30*time.Millisecond); undone != 0 || late != 0 {
		t.Fatalf("after SCRIPT FLUSH: %d of %d writes undone, %d late callers got the older value", undone, len(keys), late)
	}
}

// A Redis that runs no scripts for the client (an ACL without @scripting):
// the cache keeps working without leases, never returns an error for it,
// says so once in the log and counts it.
func TestLeasesOffWithoutScripting(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	ctx := context.Background()
	if err := direct.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-secret", "~*", "&*", "+@all", "-@scripting").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "app", Password: "app-secret", ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Eval(ctx, "return 1", nil).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("EVAL as the restricted user: %v, want NOPERM", err)
	}
	var log syncBuffer
	var results resultLog
	c := newCache(t, rdb, cache.Options{Prefix: "noscript:", Logger: slog.New(slog.NewTextHandler(&log, nil)), Observer: results.record})
	src := newSource(3)
	for _, id := range []string{"a", "b", "a", "c"} {
		if p, err := c.Get(ctx, id, src.load); err != nil || p != src.products[id] {
			t.Fatalf("Get(%s) without scripting: %+v, %v", id, p, err)
		}
	}
	if n := src.loads.Load(); n != 3 {
		t.Fatalf("%d loads for 3 keys read 4 times: the values must be stored", n)
	}
	updated := product{ID: "a", Name: "updated"}
	if err := c.Update(ctx, "a", updated, src.write); err != nil {
		t.Fatalf("Update without scripting: %v", err)
	}
	if p, err := c.Get(ctx, "a", src.load); err != nil || p != updated {
		t.Fatalf("Get after Update: %+v, %v", p, err)
	}
	if err := c.Delete(ctx, "b", "c"); err != nil {
		t.Fatalf("Delete without scripting: %v", err)
	}
	if n := direct.Exists(ctx, "noscript:b", "noscript:c").Val(); n != 0 {
		t.Fatalf("%d deleted keys still there", n)
	}
	s := c.Stats()
	if s.LeasesOff != 1 || s.UnleasedStores < 3 || results.count(cache.ResultLeasesOff) != 1 {
		t.Fatalf("stats %+v: want leases off counted once and the unleased stores counted", s)
	}
	if got := strings.Count(log.String(), "leases are off"); got != 1 || !strings.Contains(log.String(), "NOPERM") {
		t.Fatalf("log %q: want one warning that leases are off, with the reason", log.String())
	}
	t.Logf("without scripting: %+v; the log says: %s", s, strings.TrimSpace(log.String()))
}
