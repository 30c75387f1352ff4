package redistest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// syntheticLoad returns a Load over keys a and b holding the given records,
// without goroutines, to check the queries against known numbers.
func syntheticLoad(t *testing.T, records ...loadRecord) *Load {
	cfg, err := LoadConfig{Keys: []string{"a", "b"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return &Load{
		t:       t,
		cfg:     cfg,
		keys:    map[string]int{"a": 0, "b": 1},
		started: time.Now(),
		stop:    func() {},
		workers: []*loadWorker{{records: records}},
	}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestLoadQueries(t *testing.T) {
	const a, b = 0, 1
	l := syntheticLoad(t,
		loadRecord{key: a, start: ms(10), end: ms(20)},
		loadRecord{key: b, start: ms(10), end: ms(30)},
		loadRecord{key: a, start: ms(110), end: ms(500), err: "timeout"},
		loadRecord{key: b, start: ms(120), end: ms(130)},
		loadRecord{key: a, start: ms(150), end: ms(160), err: "refused"},
		loadRecord{key: a, start: ms(190), end: ms(210), err: "refused"},
		loadRecord{key: a, start: ms(250), end: ms(260)},
		loadRecord{key: a, start: ms(300), end: ms(301)},
	)
	at := func(d time.Duration) time.Time { return l.Started().Add(d) }

	o := l.Outcome(at(ms(100)), at(ms(200)), "a")
	if o.OK != 0 || o.Failed != 3 || o.Errors["refused"] != 2 || o.Errors["timeout"] != 1 || o.SuccessRatio() != 0 {
		t.Errorf("Outcome of a in [100ms, 200ms) = %+v; want 3 failures: 2 refused, 1 timeout", o)
	}
	if o := l.Outcome(at(ms(100)), at(ms(200)), "b"); o.OK != 1 || o.Failed != 0 || o.SuccessRatio() != 1 {
		t.Errorf("Outcome of b in [100ms, 200ms) = %+v; want 1 success", o)
	}
	// A window holds the commands that started in it: [from, to).
	if o := l.Outcome(at(ms(10)), at(ms(110))); o.OK != 2 || o.Failed != 0 {
		t.Errorf("Outcome of every key in [10ms, 110ms) = %+v; want the 2 commands started at 10ms", o)
	}
	if o := l.Outcome(at(ms(400)), at(ms(500))); o.Total() != 0 || o.SuccessRatio() != 0 {
		t.Errorf("Outcome of an idle window = %+v, ratio %v; want nothing and a ratio of 0", o, o.SuccessRatio())
	}
	want := `40.00% of 5 commands succeeded; errors: 2× "refused" 1× "timeout"`
	if got := l.Outcome(at(0), at(ms(260)), "a").String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}

	// The first success of a command started at or after 140ms came back
	// at 260ms; the one started at 110ms failed.
	if got, ok := l.FirstSuccess(at(ms(140)), "a"); !ok || got.Sub(l.Started()) != ms(260) {
		t.Errorf("FirstSuccess(140ms, a) = %v, %v; want 260ms", got.Sub(l.Started()), ok)
	}
	if _, ok := l.FirstSuccess(at(ms(301)), "a"); ok {
		t.Error("FirstSuccess after the last command found one")
	}
	if got := l.WaitSuccess(t, at(ms(100)), time.Second, "a", "b"); got.Sub(l.Started()) != ms(260) {
		t.Errorf("WaitSuccess(100ms, a, b) = %v; want 260ms, when the later of the two first succeeded", got.Sub(l.Started()))
	}

	// Successes of a came back at 20, 260 and 301ms.
	if got := l.LongestGap(at(0), at(ms(400)), "a"); got != ms(240) {
		t.Errorf("LongestGap(0, 400ms, a) = %v, want 240ms (from 20ms to 260ms)", got)
	}
	if got := l.LongestGap(at(ms(50)), at(ms(600)), "a"); got != ms(299) {
		t.Errorf("LongestGap(50ms, 600ms, a) = %v, want 299ms (from 301ms to the end)", got)
	}
	if got := l.LongestGap(at(ms(100)), at(ms(200)), "a"); got != ms(100) {
		t.Errorf("LongestGap over a window without success = %v, want the whole window", got)
	}

	series := l.Series("a")
	wantSeries := []struct{ ok, failed int }{{1, 0}, {0, 3}, {1, 0}, {1, 0}}
	if len(series) != len(wantSeries) {
		t.Fatalf("Series(a) has %d buckets, want %d: %+v", len(series), len(wantSeries), series)
	}
	for i, w := range wantSeries {
		if series[i].OK != w.ok || series[i].Failed != w.failed || series[i].Start.Sub(l.Started()) != time.Duration(i)*ms(100) {
			t.Errorf("bucket %d = %+v, want %d ok, %d failed from %v", i, series[i], w.ok, w.failed, time.Duration(i)*ms(100))
		}
	}
}

func TestLoadUnknownKeyFailsTheTest(t *testing.T) {
	r := &errorRecorder{TB: t}
	l := syntheticLoad(t, loadRecord{key: 0, start: ms(1), end: ms(2)})
	l.t = r
	if o := l.Outcome(l.Started(), l.Started().Add(time.Second), "nope"); o.Total() != 0 {
		t.Errorf("Outcome of an unknown key = %+v, want nothing", o)
	}
	if !strings.Contains(r.errors, `"nope"`) {
		t.Errorf("errors reported: %q; want one naming the unknown key", r.errors)
	}
}

// errorRecorder collects what is reported with Errorf instead of failing.
type errorRecorder struct {
	testing.TB
	errors string
}

func (r *errorRecorder) Helper() {}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errors += fmt.Sprintf(format, args...) + "\n"
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  LoadConfig
		want string
	}{
		{LoadConfig{}, "LoadConfig.Keys is empty"},
		{LoadConfig{Keys: []string{"k"}, Goroutines: -1}, "LoadConfig.Goroutines = -1"},
		{LoadConfig{Keys: []string{"k"}, Pause: -time.Millisecond}, "LoadConfig.Pause = -1ms"},
		{LoadConfig{Keys: []string{"k"}, Timeout: -time.Second}, "LoadConfig.Timeout = -1s"},
		{LoadConfig{Keys: []string{"k"}, Bucket: -time.Second}, "LoadConfig.Bucket = -1s"},
		{LoadConfig{Keys: []string{"k", "k"}}, `LoadConfig.Keys holds "k" twice`},
	}
	for _, tt := range tests {
		r := recordGiveUp(t, func(tb testing.TB) { StartLoad(tb, nil, tt.cfg) })
		if !strings.Contains(r.failed, tt.want) {
			t.Errorf("StartLoad(%+v) failed with %q; want it to say %s", tt.cfg, r.failed, tt.want)
		}
	}
}

func TestLoadKeysOf(t *testing.T) {
	tests := []struct {
		g, n, keys int
		want       []int
	}{
		{0, 4, 2, []int{0}},
		{3, 4, 2, []int{1}},
		{1, 2, 5, []int{1, 3}},
		{0, 2, 5, []int{0, 2, 4}},
	}
	for _, tt := range tests {
		if got := loadKeysOf(tt.g, tt.n, tt.keys); !slices.Equal(got, tt.want) {
			t.Errorf("loadKeysOf(%d, %d, %d) = %v, want %v", tt.g, tt.n, tt.keys, got, tt.want)
		}
	}
}

// TestLoadSideBySide runs two loads at once on one server, one through a
// proxy that refuses for a while and one straight, as fault tests compare
// a guarded client with a plain one.
func TestLoadSideBySide(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	proxy := NewProxy(t, s.Addr())
	newClient := func(addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: okTimeout})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	keys := []string{"a", "b", "c"}
	cfg := LoadConfig{Keys: keys, Goroutines: 4}
	proxied := StartLoad(t, newClient(proxy.Addr()), cfg)
	direct := StartLoad(t, newClient(s.Addr()), cfg)
	proxied.WaitSuccess(t, proxied.Started(), okTimeout, keys...)
	direct.WaitSuccess(t, direct.Started(), okTimeout, keys...)

	refused := time.Now()
	proxy.Refuse()
	// The window lasts until the proxied load has seen the refusal and the
	// direct one has served every key within it.
	Eventually(t, okTimeout, "the proxied load sees the server refuse", func() bool {
		return refusedError(proxied, refused) != ""
	})
	direct.WaitSuccess(t, refused, okTimeout, keys...)
	healed := time.Now()
	proxy.Heal()
	back := proxied.WaitSuccess(t, healed, okTimeout, keys...)
	proxied.Stop()
	direct.Stop()
	// Stop waits for the goroutines: nothing is recorded afterwards.
	total := proxied.Outcome(proxied.Started(), time.Now()).Total()
	time.Sleep(20 * time.Millisecond)
	if after := proxied.Outcome(proxied.Started(), time.Now()).Total(); after != total {
		t.Errorf("%d commands recorded after Stop", after-total)
	}

	during := proxied.Outcome(refused, healed)
	t.Logf("through the refusing proxy: %v; served again %v after Heal", during, back.Sub(healed).Round(time.Millisecond))
	if during.Failed == 0 {
		t.Errorf("proxied load while refused: %v; want failures", during)
	}
	if o := direct.Outcome(refused, healed); o.Failed != 0 || o.OK == 0 {
		t.Errorf("direct load while the proxy refused: %v; want every command to succeed", o)
	}
	if got := proxied.LongestGap(refused, healed); got <= 0 {
		t.Errorf("LongestGap while refused = %v, want the outage to show", got)
	}
	for _, key := range keys {
		if o := direct.Outcome(direct.Started(), time.Now(), key); o.Total() == 0 {
			t.Errorf("no command on %s; want every key loaded", key)
		}
	}
}

// refusedError returns the text of a "connection refused" error the load
// recorded since from, or "" when there is none yet.
func refusedError(l *Load, from time.Time) string {
	for text := range l.Outcome(from, time.Now()).Errors {
		if strings.Contains(text, "connection refused") {
			return text
		}
	}
	return ""
}

// TestLoadCommand checks that a custom command gets every key in turn and
// its own count, and that a command cut short by Stop is not recorded.
func TestLoadCommand(t *testing.T) {
	hanging := make(chan struct{})
	seen := make(chan string, 4)
	l := StartLoad(t, nil, LoadConfig{
		Keys:       []string{"x", "y"},
		Goroutines: 1,
		Timeout:    time.Hour,
		Command: func(ctx context.Context, _ redis.UniversalClient, key string, n int) error {
			switch {
			case n < 3:
				seen <- key
				return nil
			case n == 3:
				seen <- key
				return errors.New("third")
			}
			close(hanging)
			<-ctx.Done() // until Stop
			return ctx.Err()
		},
	})
	<-hanging
	l.Stop()
	got := []string{<-seen, <-seen, <-seen, <-seen}
	if want := []string{"x", "x", "y", "y"}; !slices.Equal(got, want) {
		t.Errorf("keys in turn = %v, want %v", got, want)
	}
	o := l.Outcome(l.Started(), time.Now())
	if o.OK != 3 || o.Failed != 1 || o.Errors["third"] != 1 {
		t.Errorf("Outcome = %v; want 3 successes and the one failure, not the command cut short by Stop", o)
	}
}
