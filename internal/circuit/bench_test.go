package circuit

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// The breaker against sony/gobreaker's own two-step breaker configured as
// this package configured it before it had a closed path of its own: the
// same rules over the same rolling window, every call through its lock.

type twoStep interface {
	allowDone(b *testing.B, outcome error)
}

type ours struct{ b *Breaker }

func (o ours) allowDone(b *testing.B, outcome error) {
	t, err := o.b.Allow()
	if err != nil {
		b.Fatal(err)
	}
	o.b.Done(t, outcome)
}

type theirs struct {
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (g theirs) allowDone(b *testing.B, outcome error) {
	done, err := g.cb.Allow()
	if err != nil {
		b.Fatal(err)
	}
	done(outcome)
}

func newGobreaker(s Settings) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	s = s.withDefaults()
	rules := tripRules{consecutive: s.ConsecutiveFailures, ratio: s.FailureRatio, minRequests: s.MinRequests}
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         s.Name,
		MaxRequests:  s.HalfOpenRequests,
		Interval:     s.Window,
		BucketPeriod: s.Window / windowBuckets,
		Timeout:      s.OpenTimeout,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return rules.trip(countsOf(c)) },
		IsSuccessful: func(err error) bool { return !s.IsFailure(err) },
		IsExcluded:   s.IsExcluded,
	})
}

func implementations(b *testing.B, s Settings) map[string]twoStep {
	ours := ours{mustNew(b, s)}
	return map[string]twoStep{"breaker": ours, "gobreaker": theirs{newGobreaker(s)}}
}

// inGoroutines runs op b.N times in about n goroutines: 1 runs it in the
// benchmark's own goroutine, more in RunParallel.
func inGoroutines(b *testing.B, n int, op func()) {
	b.ReportAllocs()
	if n == 1 {
		for b.Loop() {
			op()
		}
		return
	}
	b.SetParallelism(max(1, n/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}

var goroutineCounts = []int{1, 64, 256}

// BenchmarkClosed is Allow and Done of a successful call while closed.
func BenchmarkClosed(b *testing.B) {
	for _, impl := range []string{"breaker", "gobreaker"} {
		for _, n := range goroutineCounts {
			b.Run(fmt.Sprintf("impl=%s/goroutines=%d", impl, n), func(b *testing.B) {
				cb := implementations(b, Settings{})[impl]
				inGoroutines(b, n, func() { cb.allowDone(b, nil) })
			})
		}
	}
}

// BenchmarkClosedFailure is Allow and Done of a failed call that trips
// nothing (rules that never trip): the closed path's slow side, which sums
// the window.
func BenchmarkClosedFailure(b *testing.B) {
	s := Settings{ConsecutiveFailures: 1 << 31, MinRequests: 1 << 31}
	for _, impl := range []string{"breaker", "gobreaker"} {
		b.Run("impl="+impl, func(b *testing.B) {
			cb := implementations(b, s)[impl]
			inGoroutines(b, 1, func() { cb.allowDone(b, errReset) })
		})
	}
}

// BenchmarkOpen is a refused Allow while open.
func BenchmarkOpen(b *testing.B) {
	s := Settings{ConsecutiveFailures: 1, OpenTimeout: time.Hour}
	for _, impl := range []string{"breaker", "gobreaker"} {
		for _, n := range goroutineCounts {
			b.Run(fmt.Sprintf("impl=%s/goroutines=%d", impl, n), func(b *testing.B) {
				var allow func() error
				switch impl {
				case "breaker":
					br := mustNew(b, s)
					t, _ := br.Allow()
					br.Done(t, errReset)
					allow = func() error { _, err := br.Allow(); return err }
				default:
					cb := newGobreaker(s)
					done, _ := cb.Allow()
					done(errReset)
					allow = func() error { _, err := cb.Allow(); return err }
				}
				inGoroutines(b, n, func() {
					if allow() == nil {
						b.Fatal("admitted while open")
					}
				})
			})
		}
	}
}
