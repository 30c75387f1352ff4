package redistest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// LoadConfig describes the traffic StartLoad sends. Only Keys is required.
type LoadConfig struct {
	// Keys are the keys the commands go to. Keys are shared out among
	// the goroutines; with at least as many goroutines as keys each
	// goroutine works on one key only, so that a command stuck on one
	// shard never holds up the commands to another.
	Keys []string
	// Goroutines is how many goroutines send commands; 0 means 16.
	Goroutines int
	// Pause is how long each goroutine waits between two commands, as a
	// service's handlers do, which leaves the CPU to the servers; 0 means
	// 1 ms.
	Pause time.Duration
	// Timeout bounds each command (its context's deadline); 0 means 1 s.
	Timeout time.Duration
	// Bucket is the width of the buckets of Series; 0 means 100 ms.
	Bucket time.Duration
	// Command sends the n-th command (counted per goroutine, from 0) of
	// one goroutine on key and returns its error. nil means a SET of key
	// for even n and a GET for odd n, where redis.Nil is a success.
	Command func(ctx context.Context, client redis.UniversalClient, key string, n int) error
}

const (
	defaultLoadGoroutines = 16
	defaultLoadPause      = time.Millisecond
	defaultLoadTimeout    = time.Second
	defaultLoadBucket     = 100 * time.Millisecond
)

// Load is traffic sent to a client by StartLoad, and the record of every
// command: its key, when it started and ended, and its error. A test runs
// one Load per client, at the same time, and compares what each recorded
// over the same windows. Its methods may be called from any goroutine,
// while the load runs or after Stop; a query naming a key the load does
// not send to marks the test failed (t.Errorf) and counts nothing for it.
type Load struct {
	t       testing.TB
	cfg     LoadConfig
	keys    map[string]int // position in cfg.Keys
	started time.Time
	stop    context.CancelFunc
	wg      sync.WaitGroup
	workers []*loadWorker
}

// loadWorker is one goroutine of a Load and its records.
type loadWorker struct {
	mu      sync.Mutex
	records []loadRecord
}

// loadRecord is one command. Times are offsets from Load.started, so that
// they stay on the monotonic clock.
type loadRecord struct {
	key        int
	start, end time.Duration
	err        string // "" for a success
}

// StartLoad starts sending commands to client from cfg.Goroutines
// goroutines until Stop, which t.Cleanup also calls. It fails the test,
// naming the field, when cfg is not valid.
func StartLoad(t testing.TB, client redis.UniversalClient, cfg LoadConfig) *Load {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatalf("redistest: StartLoad: %v", err)
	}
	l := &Load{t: t, cfg: cfg, keys: make(map[string]int, len(cfg.Keys))}
	for i, key := range cfg.Keys {
		if _, dup := l.keys[key]; dup {
			t.Fatalf("redistest: StartLoad: LoadConfig.Keys holds %q twice", key)
		}
		l.keys[key] = i
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	l.started = time.Now()
	for g := range cfg.Goroutines {
		w := &loadWorker{}
		l.workers = append(l.workers, w)
		keys := loadKeysOf(g, cfg.Goroutines, len(cfg.Keys))
		l.wg.Go(func() { l.run(ctx, client, w, keys) })
	}
	t.Cleanup(l.Stop)
	return l
}

// withDefaults validates cfg and sets its zero fields to their defaults.
func (cfg LoadConfig) withDefaults() (LoadConfig, error) {
	var errs []error
	if len(cfg.Keys) == 0 {
		errs = append(errs, errors.New("LoadConfig.Keys is empty: name at least one key"))
	}
	if cfg.Goroutines < 0 {
		errs = append(errs, fmt.Errorf("LoadConfig.Goroutines = %d: must not be negative (0 means %d)", cfg.Goroutines, defaultLoadGoroutines))
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{{"Pause", cfg.Pause}, {"Timeout", cfg.Timeout}, {"Bucket", cfg.Bucket}} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("LoadConfig.%s = %v: must not be negative (0 means the default)", d.field, d.value))
		}
	}
	if cfg.Goroutines == 0 {
		cfg.Goroutines = defaultLoadGoroutines
	}
	if cfg.Pause == 0 {
		cfg.Pause = defaultLoadPause
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultLoadTimeout
	}
	if cfg.Bucket == 0 {
		cfg.Bucket = defaultLoadBucket
	}
	if cfg.Command == nil {
		cfg.Command = setOrGet
	}
	cfg.Keys = slices.Clone(cfg.Keys)
	return cfg, errors.Join(errs...)
}

// loadKeysOf returns the positions of the keys goroutine g of n works on.
func loadKeysOf(g, n, keys int) []int {
	if n >= keys {
		return []int{g % keys}
	}
	var mine []int
	for k := g; k < keys; k += n {
		mine = append(mine, k)
	}
	return mine
}

// setOrGet is the default command: SET for even n, GET for odd n.
func setOrGet(ctx context.Context, client redis.UniversalClient, key string, n int) error {
	if n%2 == 0 {
		return client.Set(ctx, key, strconv.Itoa(n), 0).Err()
	}
	if err := client.Get(ctx, key).Err(); !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}

// run is one goroutine of the load: it sends commands on its keys in turn
// until ctx is cancelled.
func (l *Load) run(ctx context.Context, client redis.UniversalClient, w *loadWorker, keys []int) {
	errText := make(map[string]string) // interned error texts
	pause := time.NewTimer(0)
	defer pause.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-pause.C:
		}
		// Pairs of commands per key, so that the default command
		// reads every key right after writing it.
		key := keys[n/2%len(keys)]
		opCtx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
		start := time.Since(l.started)
		err := l.cfg.Command(opCtx, client, l.cfg.Keys[key], n)
		end := time.Since(l.started)
		cancel()
		if ctx.Err() != nil {
			return // cut short by Stop: not the server's doing
		}
		r := loadRecord{key: key, start: start, end: end}
		if err != nil {
			text := err.Error()
			if interned, ok := errText[text]; ok {
				text = interned
			} else {
				errText[text] = text
			}
			r.err = text
		}
		w.mu.Lock()
		w.records = append(w.records, r)
		w.mu.Unlock()
		pause.Reset(l.cfg.Pause)
	}
}

// Stop stops the load and returns once every goroutine has returned; a
// command in flight is abandoned and not recorded. It may be called more
// than once.
func (l *Load) Stop() {
	l.stop()
	l.wg.Wait()
}

// Started returns when the load started; Series counts buckets from then.
func (l *Load) Started() time.Time {
	return l.started
}
