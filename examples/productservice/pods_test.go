package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// startPods starts n instances over one database file and one Redis, and
// waits until each one's client is ready.
func startPods(t *testing.T, n int, cfg config) []*instance {
	t.Helper()
	pods := make([]*instance, n)
	for i := range pods {
		pods[i] = startInstance(t, cfg)
	}
	for _, p := range pods {
		redistest.Eventually(t, 10*time.Second, p.base+" ready", func() bool {
			return status(t, http.MethodGet, p.base+"/health/redis", "") == http.StatusOK
		})
	}
	return pods
}

// fetch GETs a product with client and returns its stock.
func fetch(ctx context.Context, client *http.Client, base, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/products/"+id, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	var p Product
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, err
	}
	return p.Stock, nil
}

// TestPodsServeTheLastWriteAcrossARedisRestart runs four instances over one
// database file and one Redis. One goroutine writes product 42 through each
// instance in turn, its stock counting the writes; one reader per instance
// reads it. Redis is killed (SIGKILL) and restarted empty meanwhile; the
// writes stop, and the reads go on for longer than staleBound. A read that
// started after a write was acknowledged returns that write or a newer one,
// from every instance, but within staleBound of a write while Redis comes back
// (see staleBound).
func TestPodsServeTheLastWriteAcrossARedisRestart(t *testing.T) {
	srv := redistest.StartServer(t)
	cfg := config{redisURL: "redis://" + srv.Addr() + "/0", dbPath: filepath.Join(t.TempDir(), "products.db")}
	pods := startPods(t, 4, cfg)
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	writing, stopWriting := context.WithCancel(context.Background())
	defer stopWriting()
	reading, stopReading := context.WithCancel(context.Background())
	defer stopReading()

	var mu sync.Mutex
	ackedAt := []time.Time{{}} // ackedAt[v]: when the write of stock v was acknowledged
	var problems []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var writeErrs, reads, readErrs, staleWithin, staleBeyond atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for v := 1; writing.Err() == nil; v++ {
			p := pods[v%len(pods)]
			body := fmt.Sprintf(`{"name":"Product 42","price":4.2,"stock":%d}`, v)
			req, _ := http.NewRequestWithContext(writing, http.MethodPut, p.base+"/products/42", strings.NewReader(body))
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				if writing.Err() == nil {
					writeErrs.Add(1)
					note("PUT %d through %s: %v", v, p.base, err)
				}
				return
			}
			mu.Lock()
			ackedAt = append(ackedAt, time.Now())
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	})
	for _, p := range pods {
		wg.Go(func() {
			for reading.Err() == nil {
				began := time.Now()
				mu.Lock()
				want := len(ackedAt) - 1
				mu.Unlock()
				got, err := fetch(reading, client, p.base, "42")
				switch {
				case reading.Err() != nil:
					return
				case err != nil:
					readErrs.Add(1)
					note("GET through %s: %v", p.base, err)
				case got < want:
					mu.Lock()
					replaced := ackedAt[got+1] // the write that replaced what was served
					mu.Unlock()
					if late := began.Sub(replaced); late > staleBound {
						staleBeyond.Add(1)
						note("GET through %s: stock %d, %v after the write of %d was acknowledged", p.base, got, late, got+1)
					} else {
						staleWithin.Add(1)
					}
				}
				reads.Add(1)
			}
		})
	}

	time.Sleep(time.Second)
	srv.Kill()
	time.Sleep(time.Second)
	srv.Restart()
	time.Sleep(2 * time.Second)
	stopWriting()
	time.Sleep(staleBound + time.Second)
	stopReading()
	wg.Wait()

	t.Logf("%d writes, %d reads through 4 instances: %d stale within %v of the write that replaced them, %d later; %d failed reads, %d failed writes",
		len(ackedAt)-1, reads.Load(), staleWithin.Load(), staleBound, staleBeyond.Load(), readErrs.Load(), writeErrs.Load())
	for _, p := range problems {
		t.Log(p)
	}
	if staleBeyond.Load() != 0 || readErrs.Load() != 0 || writeErrs.Load() != 0 {
		t.Fatalf("%d reads stale beyond %v, %d failed reads, %d failed writes", staleBeyond.Load(), staleBound, readErrs.Load(), writeErrs.Load())
	}
}

// balancer stands in for a Kubernetes Service: it sends each request to one
// of the instances whose readiness probe, polled every period, last passed.
type balancer struct {
	client *http.Client
	mu     sync.Mutex
	pods   map[*instance]bool // ready
}

func (b *balancer) add(p *instance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pods[p] = false
}

func (b *balancer) remove(p *instance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pods, p)
}

func (b *balancer) pick() *instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ready []*instance
	for p, ok := range b.pods {
		if ok {
			ready = append(ready, p)
		}
	}
	if len(ready) == 0 {
		return nil
	}
	return ready[rand.IntN(len(ready))]
}

func (b *balancer) isReady(p *instance) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pods[p]
}

// probe polls every instance's readiness every period until ctx ends.
func (b *balancer) probe(ctx context.Context, period time.Duration) {
	for ctx.Err() == nil {
		b.mu.Lock()
		pods := make([]*instance, 0, len(b.pods))
		for p := range b.pods {
			pods = append(pods, p)
		}
		b.mu.Unlock()
		for _, p := range pods {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/health/ready", nil)
			ready := false
			if resp, err := b.client.Do(req); err == nil {
				ready = resp.StatusCode == http.StatusOK
				resp.Body.Close()
			}
			b.mu.Lock()
			if _, ok := b.pods[p]; ok {
				b.pods[p] = ready
			}
			b.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(period):
		}
	}
}

// TestRollingRestartFailsNoRequest restarts four instances one after the
// other, a new one started before an old one is stopped, under load through a
// balancer that follows their readiness: with a drain period above the
// balancer's probe period, no request fails. Without one the same run is
// logged for comparison.
func TestRollingRestartFailsNoRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drain time.Duration
	}{{"drain 500ms", 500 * time.Millisecond}, {"no drain", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.StartServer(t)
			cfg := config{redisURL: "redis://" + srv.Addr() + "/0", dbPath: filepath.Join(t.TempDir(), "products.db"), drain: tc.drain}
			pods := startPods(t, 4, cfg)
			client := &http.Client{Timeout: 5 * time.Second}
			t.Cleanup(client.CloseIdleConnections)
			lb := &balancer{client: client, pods: make(map[*instance]bool)}
			for _, p := range pods {
				lb.add(p)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			wg.Go(func() { lb.probe(ctx, 50*time.Millisecond) })
			redistest.Eventually(t, 5*time.Second, "every instance in rotation", func() bool {
				for _, p := range pods {
					if !lb.isReady(p) {
						return false
					}
				}
				return true
			})
			var ok, failed atomic.Int64
			var mu sync.Mutex
			var failures []string
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						p := lb.pick()
						if p == nil {
							time.Sleep(time.Millisecond)
							continue
						}
						_, err := fetch(ctx, client, p.base, fmt.Sprint(1+rand.IntN(300)))
						switch {
						case ctx.Err() != nil:
						case err != nil:
							failed.Add(1)
							mu.Lock()
							if len(failures) < 10 {
								failures = append(failures, err.Error())
							}
							mu.Unlock()
						default:
							ok.Add(1)
						}
						time.Sleep(time.Millisecond)
					}
				})
			}
			time.Sleep(300 * time.Millisecond)
			for i, old := range pods {
				fresh := startInstance(t, cfg)
				lb.add(fresh)
				redistest.Eventually(t, 10*time.Second, "the new instance in rotation", func() bool { return lb.isReady(fresh) })
				if err := old.stop(); err != nil {
					t.Errorf("stopping instance %d: %v", i, err)
				}
				lb.remove(old)
				pods[i] = fresh
			}
			time.Sleep(300 * time.Millisecond)
			cancel()
			wg.Wait()
			t.Logf("%s: %d requests served, %d failed over a rolling restart of 4 instances %v", tc.name, ok.Load(), failed.Load(), failures)
			if ok.Load() == 0 {
				t.Fatal("no request served")
			}
			if tc.drain > 0 && failed.Load() != 0 {
				t.Fatalf("%d requests failed: %v", failed.Load(), failures)
			}
		})
	}
}
