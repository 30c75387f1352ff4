package cache

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// nearSource is the Redis deployment of a Near's Caches, as its invalidation
// connections need it: one standalone (or Sentinel) client, whose options
// they copy, or a cluster, whose masters they follow.
type nearSource struct {
	key     string // names the deployment in errors, and tells two apart
	single  *redis.Options
	cluster *redis.ClusterClient
	// resolve, when set, returns the address of the server the client talks
	// to now: its options name no server (see nearSourceOf).
	resolve func(ctx context.Context) (string, error)
}

// nearSourceOf finds the go-redis client behind rdb: a *redis.Client (a
// standalone or Sentinel client), a *redis.ClusterClient, or a struct that
// embeds one as a redis.UniversalClient, as *redisguard.Client does.
func nearSourceOf(rdb redis.UniversalClient) (nearSource, error) {
	for range 4 {
		switch c := rdb.(type) {
		case *redis.Client:
			o := c.Options()
			key := fmt.Sprintf("%s %s db %d", o.Network, o.Addr, o.DB)
			src := nearSource{key: key, single: o}
			switch {
			case o.Addr == "FailoverClient": // go-redis's Sentinel client: its Dialer finds the master
				src.key = fmt.Sprintf("the Sentinel client %p", c)
			case !dialable(o.Addr):
				// A client whose dial hook picks the server, as a redisguard
				// Sentinel client does ("sentinel:<name>"): ask it.
				src.key = fmt.Sprintf("the client %p (%s)", c, o.Addr)
				src.resolve = func(ctx context.Context) (string, error) { return serverAddr(ctx, c) }
			}
			return src, nil
		case *redis.ClusterClient:
			if o := c.Options(); o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
				// A replica may answer with a value older than an
				// invalidation the master already sent: the fill marker
				// cannot tell, and the old value would stay.
				return nearSource{}, fmt.Errorf("%w: Near does not work with a cluster client that reads from replicas (ReadOnly, RouteByLatency or RouteRandomly)", ErrInvalidOptions)
			}
			addrs := slices.Clone(c.Options().Addrs)
			slices.Sort(addrs)
			return nearSource{key: "cluster " + strings.Join(addrs, ","), cluster: c}, nil
		case *redis.Ring:
			return nearSource{}, fmt.Errorf("%w: Near does not work over a *redis.Ring: its shards are chosen by the client, not by Redis", ErrInvalidOptions)
		}
		inner, ok := embeddedClient(rdb)
		if !ok {
			break
		}
		rdb = inner
	}
	return nearSource{}, fmt.Errorf("%w: Near needs a *redis.Client, a *redis.ClusterClient or a client wrapping one (a *redisguard.Client), not a %T", ErrInvalidOptions, rdb)
}

// embeddedClient returns the redis.UniversalClient a wrapper embeds as an
// exported field, as *redisguard.Client does: the Near's connections need the
// options of the client underneath (its addresses, TLS, credentials).
func embeddedClient(rdb redis.UniversalClient) (redis.UniversalClient, bool) {
	v := reflect.ValueOf(rdb)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("UniversalClient")
	if !f.IsValid() || f.Kind() != reflect.Interface || f.IsNil() || !f.CanInterface() {
		return nil, false
	}
	inner, ok := f.Interface().(redis.UniversalClient)
	return inner, ok
}

// slotRange is a range of hash slots and the address of their master.
type slotRange struct {
	start, end int
	addr       string
}

// topology is what a Near's connections follow: the options of a connection
// to each node, by address; on a cluster, the slot map and the replicas of
// each master.
type topology struct {
	nodes    map[string]*redis.Options
	slots    []slotRange         // nil for a standalone or Sentinel deployment
	replicas map[string][]string // by the master's address
}

// topology returns the nodes to watch: the one server of a standalone or
// Sentinel deployment, or every node of a cluster that is not failed
// (masters with or without slots, replicas).
// A replica is watched too so that, promoted, it is tracking already: a
// replica sends no invalidations for the writes it replicates, and its first
// writes as a master must reach the tier before they are acknowledged.
func (s nearSource) topology(ctx context.Context) (topology, error) {
	if s.cluster == nil {
		return topology{nodes: map[string]*redis.Options{s.single.Addr: s.single}}, nil
	}
	//lint:ignore SA1019 CLUSTER SLOTS is answered by every Redis with Cluster; CLUSTER SHARDS only from 7.0, and go-redis itself routes by CLUSTER SLOTS.
	slots, err := s.cluster.ClusterSlots(ctx).Result()
	if err != nil {
		return topology{}, err
	}
	var mu sync.Mutex // ForEachMaster calls on a goroutine per master
	var template *redis.Options
	err = s.cluster.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		if template == nil {
			template = m.Options()
		}
		return nil
	})
	if err != nil {
		return topology{}, err
	}
	if template == nil {
		return topology{}, fmt.Errorf("cache: the cluster has no master")
	}
	slices.SortFunc(slots, func(a, b redis.ClusterSlot) int { return a.Start - b.Start })
	top := topology{nodes: map[string]*redis.Options{}, replicas: map[string][]string{}}
	add := func(addr string) {
		if top.nodes[addr] == nil {
			o := *template
			o.Addr = addr
			top.nodes[addr] = &o
		}
	}
	masterByID := map[string]string{}
	for _, r := range slots {
		if len(r.Nodes) == 0 {
			continue
		}
		master := r.Nodes[0].Addr
		top.slots = append(top.slots, slotRange{r.Start, r.End, master})
		masterByID[r.Nodes[0].ID] = master
		add(master)
	}
	// CLUSTER SLOTS leaves out a replica until it has replicated a write,
	// and a master until it has slots; CLUSTER SHARDS (Redis 7) lists every
	// node. Before Redis 7 only the masters with slots are watched, and a
	// promoted replica is once the slot map is read again.
	shards, err := s.cluster.ClusterShards(ctx).Result()
	if err != nil {
		return top, nil
	}
	for _, sh := range shards {
		var master string
		for _, node := range sh.Nodes {
			if m, ok := masterByID[node.ID]; ok {
				master = m
			}
		}
		for _, node := range sh.Nodes {
			if node.Health == "fail" {
				continue
			}
			addr := shardNodeAddr(node, template.TLSConfig != nil)
			if addr == "" || addr == master {
				continue
			}
			// A master without slots yet is watched too: slots migrated to
			// it find it tracking.
			add(addr)
			if master != "" && node.Role == "replica" {
				top.replicas[master] = append(top.replicas[master], addr)
			}
		}
	}
	return top, nil
}

// shardNodeAddr is the address of a node of CLUSTER SHARDS, as CLUSTER
// SLOTS gives it: its preferred endpoint and the port of the client's kind.
func shardNodeAddr(n redis.Node, tls bool) string {
	host := n.Endpoint
	if host == "" || host == "?" {
		host = n.IP
	}
	port := n.Port
	if tls && n.TLSPort != 0 || port == 0 {
		port = n.TLSPort
	}
	if host == "" || port == 0 {
		return ""
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10))
}

// hashSlot is the Redis Cluster hash slot of key: its hash tag's when it
// has one.
func hashSlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return keySlot(key)
}

// nearRoutes says which connection covers a key: the one connection of a
// standalone or Sentinel deployment, or the connection of the master of the
// key's slot.
type nearRoutes struct {
	single *watcher
	slots  []*watcher // by hash slot, on a cluster; nil for a slot no master serves
}

func (r *nearRoutes) of(rkey string) *watcher {
	if r == nil {
		return nil
	}
	if r.slots == nil {
		return r.single
	}
	return r.slots[hashSlot(rkey)]
}

// dialable reports whether addr is a host and a numeric port.
func dialable(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// serverAddr returns the address of the server rdb's connections go to, as
// the server names it (CLIENT INFO's laddr).
func serverAddr(ctx context.Context, rdb *redis.Client) (string, error) {
	info, err := rdb.Do(ctx, "client", "info").Text()
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(info) {
		if addr, ok := strings.CutPrefix(f, "laddr="); ok && dialable(addr) {
			return addr, nil
		}
	}
	return "", fmt.Errorf("cache: CLIENT INFO names no laddr: %q", info)
}
