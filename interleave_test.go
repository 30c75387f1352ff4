package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/pairs"
	"github.com/redisguard/redisguard/internal/redistest"
)

// TestInterleavedThroughput compares the guarded client with plain go-redis
// (and, for the floor, plain go-redis with a hook and a connection wrapper
// that do nothing) doing the same GETs from the same number of goroutines,
// each client its own (see senders), in one process, in short slices ordered A B B A round
// after round (A plain, B guarded), each slice paired with the one next to
// it. This machine's cores change speed every few seconds; slices of 100 ms
// mostly fall within one state, where separate benchmark runs (scripts/abba)
// straddle them. It reports, per case, the median over the pairs of the
// guarded client's throughput relative to plain's, with its interquartile
// range and 95 % confidence interval, and the same for CPU time per GET. It
// runs only when asked:
//
//	REDISGUARD_INTERLEAVE=1 go test -run TestInterleavedThroughput -v .
//
// REDISGUARD_INTERLEAVE_ROUNDS sets the rounds (default 100: 200 pairs per
// case, 40 s each). REDISGUARD_INTERLEAVE_POOL names a file each run adds its
// pairs to, and the report pools them over every run in the file: separate
// runs differ from each other by more than one run's interval says.
func TestInterleavedThroughput(t *testing.T) {
	if os.Getenv("REDISGUARD_INTERLEAVE") != "1" {
		t.Skip("a measurement, not a test: set REDISGUARD_INTERLEAVE=1 to run it")
	}
	rounds := 100
	if v := os.Getenv("REDISGUARD_INTERLEAVE_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("REDISGUARD_INTERLEAVE_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	srv := redistest.StartServer(t)
	setBenchKey(t, srv)
	addr := srv.Addr()
	cases := []struct {
		name           string
		plain, guarded func(t *testing.T) redis.UniversalClient
	}{
		{"network GET", func(t *testing.T) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(t *testing.T) redis.UniversalClient {
			return newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}}})
		}},
		// The floor of any guard built on go-redis's hooks and a wrapper of
		// its connections: a hook that only calls the next one, and a
		// connection that only calls the one it wraps.
		{"network GET, a do-nothing hook and connection for the guard", func(t *testing.T) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(t *testing.T) redis.UniversalClient {
			var d net.Dialer
			rdb := redis.NewClient(&redis.Options{Addr: addr, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return passThroughConn{conn.(*net.TCPConn)}, nil
			}})
			rdb.AddHook(passThroughHook{})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}},
		{"cache hit", func(t *testing.T) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(t *testing.T) redis.UniversalClient {
			return newTestClient(t, Options{Redis: benchCSCOptions(addr)})
		}},
		// The floor of any guard built on go-redis's hooks: plain go-redis
		// against itself with a hook that only calls the next one.
		{"cache hit, a do-nothing hook for the guard", func(t *testing.T) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(t *testing.T) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
			rdb.AddHook(passThroughHook{})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}},
	}
	for _, tc := range cases {
		for _, goroutines := range []int{64, 256} {
			t.Run(fmt.Sprintf("%s/goroutines=%d", tc.name, goroutines), func(t *testing.T) {
				clients := [2]*senders{}
				for i, rdb := range [2]redis.UniversalClient{tc.plain(t), tc.guarded(t)} {
					warmUpForBench(t, rdb, goroutines)
					clients[i] = startSenders(t, rdb, goroutines)
				}
				var throughput, cpu []float64
				for range rounds {
					var s [4]slice
					for i, v := range [4]int{0, 1, 1, 0} {
						s[i] = clients[v].slice(100 * time.Millisecond)
					}
					for _, p := range [2][2]slice{{s[0], s[1]}, {s[3], s[2]}} {
						throughput = append(throughput, p[1].perSecond()/p[0].perSecond())
						cpu = append(cpu, p[1].cpuPerGet()/p[0].cpuPerGet())
					}
				}
				slices.Sort(throughput)
				slices.Sort(cpu)
				lo, hi := pairs.MedianCI(throughput)
				t.Logf("guarded/plain throughput %.3f [IQR %.3f–%.3f], 95 %% CI %.3f–%.3f; CPU per GET %.3f [IQR %.3f–%.3f]; %d pairs",
					pairs.Quantile(throughput, 0.5), pairs.Quantile(throughput, 0.25), pairs.Quantile(throughput, 0.75), lo, hi,
					pairs.Quantile(cpu, 0.5), pairs.Quantile(cpu, 0.25), pairs.Quantile(cpu, 0.75), len(throughput))
				if file := os.Getenv("REDISGUARD_INTERLEAVE_POOL"); file != "" {
					all := poolPairs(t, file, throughput)
					lo, hi := pairs.MedianCI(all)
					t.Logf("pooled over the runs in %s: throughput %.3f, 95 %% CI %.3f–%.3f; %d pairs",
						file, pairs.Quantile(all, 0.5), lo, hi, len(all))
				}
			})
		}
	}
}

// passThroughConn is a connection that only calls the one it wraps, which
// go-redis may still peek at for a dead idle one.
type passThroughConn struct{ *net.TCPConn }

func (c passThroughConn) Read(p []byte) (int, error)  { return c.TCPConn.Read(p) }
func (c passThroughConn) Write(p []byte) (int, error) { return c.TCPConn.Write(p) }

// slice is what one client did in one slice of time.
type slice struct {
	gets    int64
	elapsed time.Duration
	cpu     time.Duration // the process's
}

func (s slice) perSecond() float64 { return float64(s.gets) / s.elapsed.Seconds() }
func (s slice) cpuPerGet() float64 { return float64(s.cpu) / float64(s.gets) }

// poolPairs adds this case's throughput ratios to file, one line per pair
// (the case's name, a tab, the ratio), and returns, sorted, every ratio of
// the case the file holds.
func poolPairs(t *testing.T, file string, ratios []float64) []float64 {
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var all []float64
	for line := range strings.Lines(string(old)) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok || name != t.Name() {
			continue
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", file, line, err)
		}
		all = append(all, r)
	}
	var add strings.Builder
	for _, r := range ratios {
		fmt.Fprintf(&add, "%s\t%.6f\n", t.Name(), r)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(add.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	all = append(all, ratios...)
	slices.Sort(all)
	return all
}

// senders send GETs of benchKey through one client from their goroutines,
// slice after slice. The goroutines live as long as the case, as
// RunParallel's do: a goroutine's first stack is sized from the stacks the
// last garbage collection saw, which the other client's goroutines would
// set. (What a new goroutine costs is BenchmarkGetFromNewGoroutines's.)
type senders struct {
	t     *testing.T
	rdb   redis.UniversalClient
	n     int
	begin chan *sliceRun
}

// sliceRun is one slice of the senders' time.
type sliceRun struct {
	stop atomic.Bool
	gets atomic.Int64
	done sync.WaitGroup
}

func startSenders(t *testing.T, rdb redis.UniversalClient, n int) *senders {
	s := &senders{t: t, rdb: rdb, n: n, begin: make(chan *sliceRun)}
	var wg sync.WaitGroup
	for range n {
		wg.Go(s.send)
	}
	t.Cleanup(func() {
		close(s.begin)
		wg.Wait()
	})
	return s
}

// send takes part in each slice: every sender waits for the next one while
// no slice runs, so each takes exactly one of a slice's n begins.
func (s *senders) send() {
	for r := range s.begin {
		var n int64
		for !r.stop.Load() {
			if err := s.rdb.Get(context.Background(), benchKey).Err(); err != nil {
				s.t.Error(err)
				break
			}
			n++
		}
		r.gets.Add(n)
		r.done.Done()
	}
}

// slice sends GETs from every sender for d.
func (s *senders) slice(d time.Duration) slice {
	r := &sliceRun{}
	r.done.Add(s.n)
	start, cpuStart := time.Now(), processCPU(s.t)
	for range s.n {
		s.begin <- r
	}
	time.Sleep(d)
	r.stop.Store(true)
	r.done.Wait()
	return slice{gets: r.gets.Load(), elapsed: time.Since(start), cpu: processCPU(s.t) - cpuStart}
}

// processCPU is the CPU time this process has spent, user and system.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
