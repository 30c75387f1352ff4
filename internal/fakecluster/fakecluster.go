// Package fakecluster is a Redis Cluster of the tests' own whose slot map
// churns: one live node on 127.0.0.1 (a redistest.FakeServer) answers the connection handshake, PING,
// GET, COMMAND and CLUSTER SLOTS / SHARDS / NODES, and each CLUSTER SLOTS (a
// reload of the slot map) names a new set of nodes that never serve a
// command. It shows what a client does when a broken or hostile cluster
// names ever new servers: how many it keeps, how many goroutines and metric
// series it holds for them, and whether its commands keep their deadlines.
//
// The nodes it names are listeners of its own on 127.0.0.1 (so that no other
// process on the machine is ever dialed): each accepts a connection and
// either closes it at once (a server that went away) or, with Silent, holds
// it without a word (a server that hangs behind a live port).
package fakecluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redisguard/redisguard/internal/redistest"
)

// Options shape the cluster.
type Options struct {
	// Nodes is how many dead nodes each slot map names beside the live one.
	Nodes int
	// Pool is how many dead addresses the maps draw from (at least Nodes):
	// the distinct servers a client can meet.
	Pool int
	// Silent dead nodes accept connections and never answer; otherwise they
	// close them at once.
	Silent bool
}

// Cluster is a running fake cluster. Its listeners and connections close with
// the test.
type Cluster struct {
	opt    Options
	live   *redistest.FakeServer
	dead   []net.Listener
	maps   atomic.Int64 // the slot maps given: the current one's number
	frozen atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// liveSlots is the slot range the live node serves in every map: [0, liveSlots).
const liveSlots = 1024

const slotCount = 16384

// Start starts a cluster on loopback ports; t.Cleanup closes it.
func Start(t testing.TB, opt Options) *Cluster {
	t.Helper()
	if opt.Nodes < 1 || opt.Pool < opt.Nodes {
		t.Fatalf("fakecluster: Nodes %d, Pool %d: want 1 ≤ Nodes ≤ Pool", opt.Nodes, opt.Pool)
	}
	c := &Cluster{opt: opt, conns: make(map[net.Conn]struct{})}
	t.Cleanup(c.close)
	c.live = redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		c.answer(cmd, w)
		return true
	})
	for range opt.Pool {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.dead = append(c.dead, ln)
		c.wg.Go(func() { c.accept(ln, c.hold) })
	}
	return c
}

// Addr is the live node's address, the one to configure.
func (c *Cluster) Addr() string { return c.live.Addr() }

// Reloads is how many different slot maps the cluster gave.
func (c *Cluster) Reloads() int64 { return c.maps.Load() }

// Freeze makes every later CLUSTER SLOTS answer the last map given.
func (c *Cluster) Freeze() { c.frozen.Store(true) }

// LiveKey returns a key whose slot the live node serves in every map.
func LiveKey() string { return keyIn(0, liveSlots) }

func keyIn(lo, hi int) string {
	for i := 0; ; i++ {
		k := "key:" + strconv.Itoa(i)
		if s := int(crc16([]byte(k)) % slotCount); s >= lo && s < hi {
			return k
		}
	}
}

func (c *Cluster) accept(ln net.Listener, handle func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.conns[conn] = struct{}{}
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.wg.Done()
			defer func() {
				conn.Close()
				c.mu.Lock()
				delete(c.conns, conn)
				c.mu.Unlock()
			}()
			handle(conn)
		}()
	}
}

// hold is a dead node's side of a connection.
func (c *Cluster) hold(conn net.Conn) {
	if c.opt.Silent {
		io.Copy(io.Discard, conn) // until the client or the test closes it
	}
}

// answer is the live node's answer to cmd.
func (c *Cluster) answer(cmd []string, w *bufio.Writer) {
	sub := ""
	if len(cmd) > 1 {
		sub = strings.ToUpper(cmd[1])
	}
	switch {
	case cmd[0] == "HELLO":
		w.WriteString("%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n")
	case cmd[0] == "PING":
		w.WriteString("+PONG\r\n")
	case cmd[0] == "GET":
		w.WriteString("_\r\n") // RESP3 null: the key is missing
	case cmd[0] == "COMMAND":
		w.WriteString("*0\r\n") // no command info: go-redis routes by its own rules
	case cmd[0] == "CLUSTER" && sub == "SLOTS":
		c.writeSlots(w)
	case cmd[0] == "CLUSTER" && sub == "NODES":
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(c.nodesLine()), c.nodesLine())
	case cmd[0] == "CLUSTER" && sub == "SHARDS":
		c.writeShards(w)
	case cmd[0] == "CLIENT", cmd[0] == "AUTH", cmd[0] == "SELECT", cmd[0] == "READONLY":
		w.WriteString("+OK\r\n")
	default:
		fmt.Fprintf(w, "-ERR unknown command '%s'\r\n", cmd[0])
	}
}

// named returns the dead addresses the map of the given reload names: a
// window over the pool that moves at every reload.
func (c *Cluster) named(reload int64) []string {
	addrs := make([]string, c.opt.Nodes)
	start := int(reload) * c.opt.Nodes
	for i := range addrs {
		addrs[i] = c.dead[(start+i)%len(c.dead)].Addr().String()
	}
	return addrs
}

// ranges splits the dead nodes' slots [liveSlots, slotCount) among n nodes.
func ranges(n int) [][2]int {
	out := make([][2]int, n)
	per := (slotCount - liveSlots) / n
	for i := range out {
		lo := liveSlots + i*per
		hi := lo + per - 1
		if i == n-1 {
			hi = slotCount - 1
		}
		out[i] = [2]int{lo, hi}
	}
	return out
}

func writeNode(w *bufio.Writer, addr string) {
	host, port, _ := net.SplitHostPort(addr)
	id := fmt.Sprintf("%040s", port) // one node per port
	fmt.Fprintf(w, "*3\r\n$%d\r\n%s\r\n:%s\r\n$%d\r\n%s\r\n", len(host), host, port, len(id), id)
}

func (c *Cluster) writeSlots(w *bufio.Writer) {
	if !c.frozen.Load() || c.maps.Load() == 0 {
		c.maps.Add(1)
	}
	dead := c.named(c.maps.Load())
	fmt.Fprintf(w, "*%d\r\n", len(dead)+1)
	fmt.Fprintf(w, "*3\r\n:0\r\n:%d\r\n", liveSlots-1)
	writeNode(w, c.Addr())
	for i, r := range ranges(len(dead)) {
		fmt.Fprintf(w, "*3\r\n:%d\r\n:%d\r\n", r[0], r[1])
		writeNode(w, dead[i])
	}
}

// writeShards answers CLUSTER SHARDS with the live node alone: the shape is
// what matters to the clients that ask it.
func (c *Cluster) writeShards(w *bufio.Writer) {
	host, port, _ := net.SplitHostPort(c.Addr())
	w.WriteString("*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:" + strconv.Itoa(liveSlots-1) + "\r\n$5\r\nnodes\r\n*1\r\n")
	fmt.Fprintf(w, "%%4\r\n$2\r\nip\r\n$%d\r\n%s\r\n$4\r\nport\r\n:%s\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n", len(host), host, port)
}

// nodesLine answers CLUSTER NODES: the live node, connected, and the dead
// nodes of the last map, failing.
func (c *Cluster) nodesLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%040d %s@1 myself,master - 0 0 1 connected 0-%d\n", 0, c.Addr(), liveSlots-1)
	for i, addr := range c.named(c.maps.Load()) {
		fmt.Fprintf(&b, "%040d %s@1 master,fail - 0 0 1 disconnected\n", i+1, addr)
	}
	return b.String()
}

func (c *Cluster) close() {
	c.mu.Lock()
	c.closed = true
	for _, ln := range c.dead {
		ln.Close()
	}
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// crc16 is CRC-16/XMODEM, the hash of Redis Cluster's key slots (a key
// without a hash tag, as the keys here are).
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
