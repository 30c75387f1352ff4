package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/internal/redistest"
)

// panickingCodec panics in Marshal, as a buggy codec would.
type panickingCodec struct{ cache.JSON }

func (panickingCodec) Marshal(any) ([]byte, error) { panic("codec bug") }

// explosive panics in its MarshalJSON.
type explosive struct{ ID string }

func (explosive) MarshalJSON() ([]byte, error) { panic("MarshalJSON bug") }

// A panicking Codec.Marshal, or MarshalJSON, inside the shared load is an error
// for every waiter, not a crash of the process.
func TestPanickingCodecIsAnErrorForEveryWaiter(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr())
	release := make(chan struct{})
	waitAll := func(t *testing.T, get func() error) {
		t.Helper()
		const waiters = 20
		errs := make(chan error, waiters)
		for range waiters {
			go func() { errs <- get() }()
		}
		time.Sleep(100 * time.Millisecond) // every waiter joins the load
		close(release)
		for range waiters {
			select {
			case err := <-errs:
				if !errors.Is(err, cache.ErrCodecPanic) || !strings.Contains(err.Error(), "bug") {
					t.Fatalf("waiter got %v, want ErrCodecPanic with the panic value", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a waiter is still blocked after the codec panicked")
			}
		}
	}
	t.Run("Codec.Marshal", func(t *testing.T) {
		c := newCache(t, rdb, cache.Options{Prefix: "codec:", Codec: panickingCodec{}})
		waitAll(t, func() error {
			_, err := c.Get(context.Background(), "a", func(context.Context, string) (product, error) {
				<-release
				return product{ID: "a"}, nil
			})
			return err
		})
		if err := c.Set(context.Background(), "b", product{}); !errors.Is(err, cache.ErrCodecPanic) {
			t.Fatalf("Set with a panicking codec: %v", err)
		}
	})
	release = make(chan struct{})
	t.Run("MarshalJSON", func(t *testing.T) {
		c, err := cache.New[explosive](rdb, cache.Options{Prefix: "json:", TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		closeCache(t, c)
		waitAll(t, func() error {
			_, err := c.Get(context.Background(), "a", func(context.Context, string) (explosive, error) {
				<-release
				return explosive{ID: "a"}, nil
			})
			return err
		})
	})
}

// A loader that hangs does not hold its key: its callers give up, its context
// is cancelled when the last one has gone, and a later Get runs its own loader.
func TestHungLoaderDoesNotPoisonItsKey(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := guarded(t, srv.Addr())
	src := newSource(1)

	t.Run("loader waits on its context", func(t *testing.T) {
		c := newCache(t, rdb, cache.Options{Prefix: "hung:"})
		cancelled := make(chan error, 1)
		hung := func(ctx context.Context, _ string) (product, error) {
			<-ctx.Done()
			cancelled <- ctx.Err()
			return product{}, ctx.Err()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.Get(ctx, "a", hung); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get with a hung loader: %v, want the caller's deadline", err)
		}
		select {
		case err := <-cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("the hung loader's context ended with %v, want Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the load's context was not cancelled after its last caller left")
		}
		start := time.Now()
		if p, err := c.Get(context.Background(), "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("a later Get with its own loader: %+v, %v", p, err)
		}
		t.Logf("the later Get took %v", time.Since(start).Round(time.Microsecond))
	})

	t.Run("loader ignores its context", func(t *testing.T) {
		const loadTimeout = 300 * time.Millisecond
		c := newCache(t, rdb, cache.Options{Prefix: "stuck:", LoadTimeout: loadTimeout})
		stuck := make(chan struct{})
		defer close(stuck) // lets the stuck loader's goroutine end before the leak check
		deaf := func(context.Context, string) (product, error) {
			<-stuck
			return product{}, errors.New("too late")
		}
		start := time.Now()
		_, err := c.Get(context.Background(), "a", deaf)
		if took := time.Since(start); !errors.Is(err, cache.ErrLoadTimeout) || !errors.Is(err, context.DeadlineExceeded) || took > loadTimeout+time.Second {
			t.Fatalf("Get with a loader that never returns: %v after %v, want ErrLoadTimeout after about %v", err, took, loadTimeout)
		}
		if p, err := c.Get(context.Background(), "a", src.load); err != nil || p != src.products["a"] {
			t.Fatalf("a later Get with its own loader: %+v, %v", p, err)
		}
	})
}

// A typed nil client is a clear error at construction, not a panic at the
// first Get.
func TestTypedNilsAreErrors(t *testing.T) {
	for _, rdb := range []redis.UniversalClient{(*redis.Client)(nil), (*redisguard.Client)(nil), (*redis.ClusterClient)(nil)} {
		_, err := cache.New[product](rdb, cache.Options{TTL: time.Minute})
		if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "rdb") {
			t.Errorf("New(%T(nil)): %v, want ErrInvalidOptions naming rdb", rdb, err)
		}
	}
	srv := redistest.StartServer(t)
	_, err := cache.New[product](plain(t, srv.Addr()), cache.Options{TTL: time.Minute, Codec: (*panickingCodec)(nil)})
	if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), "Codec") {
		t.Errorf("New with a typed nil Codec: %v, want ErrInvalidOptions naming Codec", err)
	}
}

// A not-found answered by the loader because Redis failed is a fallback.
func TestNotFoundDuringAnOutageIsAFallback(t *testing.T) {
	srv := redistest.StartServer(t)
	var fb fallbacks
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "nf:", OnFallback: fb.record})
	srv.Kill()
	src := newSource(0)
	for range 3 {
		if _, err := c.Get(context.Background(), "missing", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Get: %v, want ErrNotFound", err)
		}
	}
	if s := c.Stats(); s.Fallbacks != 3 || s.Misses != 0 {
		t.Fatalf("stats %+v: want 3 fallbacks, no miss", s)
	}
	if n := len(fb.seen()); n != 3 {
		t.Fatalf("OnFallback saw %d errors, want 3", n)
	}
}

// Every option is validated, each error naming its field.
func TestEveryOptionIsValidated(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := plain(t, srv.Addr())
	for field, opts := range map[string]cache.Options{
		"LoadTimeout":             {TTL: time.Minute, LoadTimeout: -time.Second},
		"FillLockTTL":             {TTL: time.Minute, FillLockTTL: time.Microsecond},
		"EarlyRefreshBeta":        {TTL: time.Minute, EarlyRefreshBeta: -1},
		"MaxPendingInvalidations": {TTL: time.Minute, MaxPendingInvalidations: -1},
		"Near":                    {TTL: time.Minute, Near: newNear(t, cache.NearOptions{})},
	} {
		_, err := cache.New[product](rdb, opts)
		if !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), field) {
			t.Errorf("New with a bad %s: %v", field, err)
		}
	}
	for field, opts := range map[string]cache.NearOptions{
		"MaxEntries":   {MaxEntries: -1},
		"MaxBytes":     {MaxBytes: -1},
		"MaxStaleness": {MaxStaleness: -time.Second},
		"Heartbeat":    {Heartbeat: time.Millisecond},
	} {
		if _, err := cache.NewNear(opts); !errors.Is(err, cache.ErrInvalidOptions) || !strings.Contains(err.Error(), field) {
			t.Errorf("NewNear with a bad %s: %v", field, err)
		}
	}
}

// After Close every method says so, and no background work is left.
func TestClose(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newCache(t, guarded(t, srv.Addr()), cache.Options{Prefix: "close:"})
	src := newSource(1)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = c.Get(context.Background(), "a", src.load) })
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Get(ctx, "a", src.load); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := c.GetMany(ctx, []string{"a"}, src.loadMany); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("GetMany after Close: %v", err)
	}
	if err := c.Set(ctx, "a", product{}); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Set after Close: %v", err)
	}
	if err := c.Update(ctx, "a", product{}, src.write); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
	if err := c.Delete(ctx, "a"); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
}
