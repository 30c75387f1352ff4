package metrics

import (
	"sync"

	"github.com/redisguard/redisguard"
)

// removedNodes are the servers the client reported it no longer uses
// (Hooks.OnNodeRemoved) and has reported nothing about since. Such a server
// that is not ready is not exported, whatever Client.Nodes still says of it,
// so that a dead server the client is done with leaves no series behind. Any
// later event about it (it failed, is reconnecting, became ready), or its
// being ready, shows it in use again.
type removedNodes struct {
	mu    sync.Mutex
	addrs map[string]struct{}
}

func (r *removedNodes) add(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addrs == nil {
		r.addrs = make(map[string]struct{})
	}
	r.addrs[addr] = struct{}{}
}

func (r *removedNodes) restore(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.addrs, addr)
}

// visible returns the nodes to export. It forgets the removed addresses that
// nodes no longer lists, so that the set stays bounded by the client's list.
func (r *removedNodes) visible(nodes []redisguard.NodeStatus) []redisguard.NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.addrs) == 0 {
		return nodes
	}
	listed := make(map[string]struct{}, len(nodes))
	out := nodes[:0]
	for _, n := range nodes {
		listed[n.Addr] = struct{}{}
		if _, removed := r.addrs[n.Addr]; !removed || n.State == redisguard.StateReady {
			out = append(out, n)
		}
	}
	for addr := range r.addrs {
		if _, ok := listed[addr]; !ok {
			delete(r.addrs, addr)
		}
	}
	return out
}

// DefaultMaxNodeLabels is how many servers get a "node" label value of their
// own at once when Options.MaxNodeLabels is zero.
const DefaultMaxNodeLabels = 256

// otherNode is the "node" label value of the servers beyond the cap.
const otherNode = "other"

// nodeLabels gives each server the value of its "node" label: its address,
// for at most max servers at once (the first seen), and "other" for the rest,
// so that a churning slot map naming ever new servers cannot grow the series
// without bound. A server the client stopped using gives its value back.
type nodeLabels struct {
	mu    sync.Mutex
	max   int
	named map[string]struct{}
}

func (l *nodeLabels) label(addr string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.labelLocked(addr)
}

func (l *nodeLabels) labelLocked(addr string) string {
	if _, ok := l.named[addr]; ok {
		return addr
	}
	if len(l.named) >= l.max {
		return otherNode
	}
	if l.named == nil {
		l.named = make(map[string]struct{})
	}
	l.named[addr] = struct{}{}
	return addr
}

// labelAll returns the label values of nodes, given under one hold of the
// lock: a value given back meanwhile cannot go to another server of the same
// scrape, which therefore shows at most max addresses.
func (l *nodeLabels) labelAll(nodes []redisguard.NodeStatus) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	labels := make([]string, len(nodes))
	for i, n := range nodes {
		labels[i] = l.labelLocked(n.Addr)
	}
	return labels
}

// release gives addr's value back and reports whether it had one.
func (l *nodeLabels) release(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.named[addr]
	delete(l.named, addr)
	return ok
}
