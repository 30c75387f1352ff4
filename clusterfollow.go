package redisguard

import (
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// follow takes in a slot map go-redis loaded: every reload (its own every
// ClusterStateReloadInterval, after a MOVED, the watch's) sends CLUSTER SLOTS
// through a node's hook, whose reply origin gave. The nodes the map leaves
// out retire and those it names again come back at once, without a command
// of the guard's own: a replica that was replaced, which no command reaches,
// leaves Nodes() and the metrics when go-redis forgets it. Addresses are
// read as go-redis reads them; a map that does not name the node that
// answered it is read some other way (an address translation of its own)
// and is left alone.
func (r *clusterNodes) follow(origin string, slots []redis.ClusterSlot) {
	named := namedBy(origin, slots)
	if !named[origin] {
		return
	}
	r.c.goBackground(func() { r.retireUnnamed(named, nil) })
}

// namedBy returns the addresses a CLUSTER SLOTS reply from origin names, as
// go-redis reads them: a loopback address stands for origin's host unless
// origin is itself on a loopback address, and port 0 for origin's port.
func namedBy(origin string, slots []redis.ClusterSlot) map[string]bool {
	host, port, _ := net.SplitHostPort(origin)
	named := make(map[string]bool)
	for _, s := range slots {
		for _, n := range s.Nodes {
			addr := n.Addr
			if h, p, err := net.SplitHostPort(addr); err == nil {
				if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() && !loopbackHost(host) {
					h = host
				}
				if p == "0" && port != "" && port != "0" {
					p = port
				}
				addr = net.JoinHostPort(h, p)
			}
			named[addr] = true
		}
	}
	return named
}

// loopbackHost reports whether go-redis takes host for a loopback one.
func loopbackHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".docker.internal")
}
