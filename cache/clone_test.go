package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// With Options.Clone, the callers that share one load each get a value of
// their own and may change it (the race detector watches); the first gets
// the loaded value itself.
func TestCloneForCoalescedCallers(t *testing.T) {
	srv := redistest.StartServer(t)
	clone := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	c, err := cache.New[map[string]int](plain(t, srv.Addr()), cache.Options{Prefix: "clone:", TTL: time.Minute, Clone: clone})
	if err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	release := make(chan struct{})
	var loaded map[string]int
	load := func(context.Context, string) (map[string]int, error) {
		<-release
		loaded = map[string]int{"stock": 5}
		return loaded, nil
	}
	const callers = 20
	got := make([]map[string]int, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			m, err := c.Get(context.Background(), "a", load)
			if err != nil {
				t.Error(err)
				return
			}
			m["stock"]-- // each caller changes its own value
			got[i] = m
		})
	}
	time.Sleep(50 * time.Millisecond) // every caller waits on the one load
	close(release)
	wg.Wait()
	originals := 0
	for _, m := range got {
		if m == nil {
			t.Fatal("a caller got nothing")
		}
		if m["stock"] != 4 {
			t.Fatalf("a caller's value %v: another caller's change reached it", m)
		}
		if sameMap(m, loaded) {
			originals++
		}
	}
	if originals > 1 {
		t.Fatalf("%d callers got the loaded map itself, want at most the first", originals)
	}
}

func sameMap(a, b map[string]int) bool {
	if a == nil || b == nil {
		return false
	}
	a["\x00probe"] = 1
	_, same := b["\x00probe"]
	delete(a, "\x00probe")
	return same
}

// A Clone of the wrong type is an error naming the field.
func TestCloneOfTheWrongType(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, clone := range []any{func(string) string { return "" }, 42, (func(product) product)(nil)} {
		_, err := cache.New[product](plain(t, srv.Addr()), cache.Options{TTL: time.Minute, Clone: clone})
		if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "Clone") {
			t.Fatalf("Clone %T: %v, want an error naming the field", clone, err)
		}
	}
}
