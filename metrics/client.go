package metrics

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// ErrAlreadyInstrumented is returned by a second Instrument on one Metrics: the
// client's gauges would collide. Use one Metrics per client, told apart by
// Options.ConstLabels.
var ErrAlreadyInstrumented = errors.New("metrics: already instrumenting a client")

// Instrument counts and times c's commands and exports its lifecycle: state,
// the state of each server, reconnect attempts, dials, refusals, queue length,
// breaker state and transitions, and go-redis pool statistics read at scrape
// time. A nil c is an error wrapping ErrNoClient.
//
// The series about one server carry its address in the "node" label, on every
// kind of client: the one server of a standalone client, the current master of
// a Sentinel client, each node of a cluster's slot map. When the client stops
// using a server (Hooks.OnNodeRemoved: the slot map dropped it, or the Sentinel
// master moved away) its series are deleted, so that the label values stay
// bounded by the servers in use; past Options.MaxNodeLabels servers at once,
// the others' series are folded into node="other".
func (m *Metrics) Instrument(c *redisguard.Client) error {
	if c == nil {
		return noClient("Instrument", c)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.instrumented {
		return ErrAlreadyInstrumented
	}
	m.instrumented = true
	c.AddHook(m.Hook())
	c.AddHooks(redisguard.Hooks{
		OnConnect: func(string) { m.dials.Inc() },
		OnRefused: func(err error) { m.refused.WithLabelValues(reason(err)).Inc() },
		OnNodeReady: func(addr string) {
			m.client.removed.restore(addr)
			m.reconnects.WithLabelValues(m.client.labels.label(addr)) // from 0, so that rate() sees the first attempt
		},
		OnNodeError: func(addr string, _ error) { m.client.removed.restore(addr) },
		OnNodeReconnecting: func(addr string, _ int, _ time.Duration) {
			m.client.removed.restore(addr)
			m.reconnects.WithLabelValues(m.client.labels.label(addr)).Inc()
		},
		OnNodeBreakerStateChange: func(addr string, from, to breaker.State) {
			m.client.removed.restore(addr)
			m.transition.WithLabelValues(m.client.labels.label(addr), from.String(), to.String()).Inc()
		},
		OnNodeRemoved: func(addr string) {
			m.client.removed.add(addr)
			if m.client.labels.release(addr) {
				m.reconnects.DeleteLabelValues(addr)
				m.transition.DeletePartialMatch(prometheus.Labels{"node": addr})
			}
		},
	})
	for _, n := range c.Nodes() {
		if n.State == redisguard.StateReady {
			m.reconnects.WithLabelValues(m.client.labels.label(n.Addr))
		}
	}
	m.client.c.Store(c)
	return nil
}

var (
	clientStates  = []redisguard.State{redisguard.StateConnecting, redisguard.StateReady, redisguard.StateReconnecting, redisguard.StateClosed}
	breakerStates = []breaker.State{breaker.StateClosed, breaker.StateHalfOpen, breaker.StateOpen}
)

// clientCollector reads the instrumented client's gauges at scrape time.
type clientCollector struct {
	c       atomic.Pointer[redisguard.Client]
	removed removedNodes
	labels  nodeLabels

	state, nodeState, queue, breakerState         *prometheus.Desc
	poolHits, poolMisses, poolTimeouts, poolStale *prometheus.Desc
	poolWaits, poolWaitSeconds                    *prometheus.Desc
	poolConns, poolIdle                           *prometheus.Desc
}

func newClientCollector(ns string, labels prometheus.Labels, maxNodeLabels int) *clientCollector {
	desc := func(name, help string, labelNames ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labelNames, labels)
	}
	return &clientCollector{
		labels:          nodeLabels{max: maxNodeLabels},
		state:           desc("client_state", "1 for the client's current state: connecting, ready, reconnecting or closed (a cluster is ready while any node serves).", "state"),
		nodeState:       desc("client_node_state", "1 for the current state of the client's connection to each server: connecting, ready, reconnecting or closed.", "node", "state"),
		queue:           desc("client_queue_length", "Commands in flight or waiting for the connection."),
		breakerState:    desc("breaker_state", "1 for the current state of each server's circuit breaker: closed, half-open or open.", "node", "state"),
		poolHits:        desc("pool_hits_total", "Times a free connection was found in the pool.", "pool"),
		poolMisses:      desc("pool_misses_total", "Times a connection had to be dialed.", "pool"),
		poolTimeouts:    desc("pool_timeouts_total", "Times waiting for a pooled connection timed out.", "pool"),
		poolStale:       desc("pool_stale_connections_total", "Stale connections removed from the pool.", "pool"),
		poolWaits:       desc("pool_waits_total", "Times a command waited for a pooled connection.", "pool"),
		poolWaitSeconds: desc("pool_wait_seconds_total", "Time commands spent waiting for a pooled connection.", "pool"),
		poolConns:       desc("pool_connections", "Connections in the pool.", "pool"),
		poolIdle:        desc("pool_idle_connections", "Idle connections in the pool.", "pool"),
	}
}

func (cc *clientCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cc.state, cc.nodeState, cc.queue, cc.breakerState, cc.poolHits, cc.poolMisses,
		cc.poolTimeouts, cc.poolStale, cc.poolWaits, cc.poolWaitSeconds, cc.poolConns, cc.poolIdle} {
		ch <- d
	}
}

func (cc *clientCollector) Collect(ch chan<- prometheus.Metric) {
	c := cc.c.Load()
	if c == nil {
		return
	}
	current := c.State()
	for _, s := range clientStates {
		ch <- prometheus.MustNewConstMetric(cc.state, prometheus.GaugeValue, oneIf(s == current), s.String())
	}
	ch <- prometheus.MustNewConstMetric(cc.queue, prometheus.GaugeValue, float64(c.QueueLen()))
	// The servers folded into node="other" are counted by state.
	otherStates := make([]float64, len(clientStates))
	otherBreakers := make([]float64, len(breakerStates))
	others, otherBreaker := false, false
	nodes := cc.removed.visible(c.Nodes())
	labels := cc.labels.labelAll(nodes)
	for i, n := range nodes {
		node := labels[i]
		current := n.Breaker.State
		if node == otherNode {
			others = true
			for i, s := range clientStates {
				otherStates[i] += oneIf(s == n.State)
			}
			if n.HasBreaker {
				otherBreaker = true
				for i, s := range breakerStates {
					otherBreakers[i] += oneIf(s == current)
				}
			}
			continue
		}
		for _, s := range clientStates {
			ch <- prometheus.MustNewConstMetric(cc.nodeState, prometheus.GaugeValue, oneIf(s == n.State), node, s.String())
		}
		if !n.HasBreaker {
			continue
		}
		for _, s := range breakerStates {
			ch <- prometheus.MustNewConstMetric(cc.breakerState, prometheus.GaugeValue, oneIf(s == current), node, s.String())
		}
	}
	if others {
		for i, s := range clientStates {
			ch <- prometheus.MustNewConstMetric(cc.nodeState, prometheus.GaugeValue, otherStates[i], otherNode, s.String())
		}
	}
	if otherBreaker {
		for i, s := range breakerStates {
			ch <- prometheus.MustNewConstMetric(cc.breakerState, prometheus.GaugeValue, otherBreakers[i], otherNode, s.String())
		}
	}
	if ps := c.PoolStats(); ps != nil {
		cc.collectPool(ch, "main", ps.Hits, ps.Misses, ps.Timeouts, ps.StaleConns, ps.WaitCount, ps.WaitDurationNs, ps.TotalConns, ps.IdleConns)
		if pp := ps.PipelineStats; pp != nil {
			cc.collectPool(ch, "pipeline", pp.Hits, pp.Misses, pp.Timeouts, pp.StaleConns, pp.WaitCount, pp.WaitDurationNs, pp.TotalConns, pp.IdleConns)
		}
	}
}

// collectPool exports the statistics of one go-redis pool: the main one, or the
// one go-redis keeps for pipelines.
func (cc *clientCollector) collectPool(ch chan<- prometheus.Metric, pool string, hits, misses, timeouts, stale, waits uint32, waitNs int64, conns, idle uint32) {
	ch <- prometheus.MustNewConstMetric(cc.poolHits, prometheus.CounterValue, float64(hits), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolMisses, prometheus.CounterValue, float64(misses), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolTimeouts, prometheus.CounterValue, float64(timeouts), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolStale, prometheus.CounterValue, float64(stale), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolWaits, prometheus.CounterValue, float64(waits), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolWaitSeconds, prometheus.CounterValue, float64(waitNs)/1e9, pool)
	ch <- prometheus.MustNewConstMetric(cc.poolConns, prometheus.GaugeValue, float64(conns), pool)
	ch <- prometheus.MustNewConstMetric(cc.poolIdle, prometheus.GaugeValue, float64(idle), pool)
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
