package wire

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/circuit"
)

// fakeOwner is an owner that counts what its connections report.
type fakeOwner struct {
	breaker           *circuit.Breaker
	gen               atomic.Uint32
	opened, closed    atomic.Int32
	accepted, refunds atomic.Int32
	slow, answered    atomic.Int32
	afterSwitch       atomic.Int32
	replaced          atomic.Int32
	background        sync.WaitGroup
	inFlight          atomic.Int32
}

func (o *fakeOwner) Address() string                   { return "pipe" }
func (o *fakeOwner) Breaker() *circuit.Breaker         { return o.breaker }
func (o *fakeOwner) Opened(*Conn)                      { o.opened.Add(1) }
func (o *fakeOwner) Closed(*Conn)                      { o.closed.Add(1) }
func (o *fakeOwner) Accepted()                         { o.accepted.Add(1) }
func (o *fakeOwner) Refund()                           { o.refunds.Add(1) }
func (o *fakeOwner) Slow(b *circuit.Breaker, _ uint64) { o.slow.Add(1); b.Record(circuit.ErrSlowCall) }
func (o *fakeOwner) Answered(*circuit.Breaker, uint64) { o.answered.Add(1) }
func (o *fakeOwner) Replace()                          { o.replaced.Add(1) }
func (o *fakeOwner) AfterSwitch(c *Conn, _ []byte, _ int, _ error) (int, error) {
	o.afterSwitch.Add(1)
	c.Abandon()
	return 0, net.ErrClosed
}

// newEndpoint returns an endpoint whose owner judges replies against
// threshold (none when it is zero), as a node does, with a read timeout of
// 3 s; t.Cleanup stops its clock and waits for its drains.
func newEndpoint(t *testing.T, threshold *time.Duration) *Endpoint {
	t.Helper()
	o := &fakeOwner{}
	epoch := time.Now()
	now := func() int64 { return int64(time.Since(epoch)) + 1 }
	closing := t.Context()
	e := &Endpoint{
		Owner:      o,
		Gen:        &o.gen,
		Limits:     &Limits{Bulk: 100, Elements: 10, Depth: 3, Line: 64},
		Now:        now,
		JudgeLimit: 3 * time.Second,
		MaxDrains:  2,
	}
	e.Drainer = NewDrainer(closing, func(f func()) bool {
		o.background.Go(f)
		return true
	}, epoch, now)
	t.Cleanup(func() {
		e.Drainer.Stop()
		o.background.Wait()
	})
	if threshold == nil {
		return e
	}
	b, err := circuit.New(circuit.Settings{SlowCallThreshold: *threshold, ConsecutiveFailures: 1000, MinRequests: 1000})
	if err != nil {
		t.Fatal(err)
	}
	o.breaker = b
	o.inFlight.Store(1) // a command in flight: the clock ticks
	e.Clock = NewClock(now, *threshold, func() bool { return o.inFlight.Load() > 0 })
	e.LongWait = e.JudgeLimit + JudgeSlack + e.Clock.Period()
	t.Cleanup(e.Clock.Stop)
	return e
}

func owner(e *Endpoint) *fakeOwner { return e.Owner.(*fakeOwner) }
