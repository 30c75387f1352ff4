package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// maxStackAdded bounds what the guard adds to the stack of a goroutine at
// its deepest while it sends a command: the wait for the reply, under the
// read of its connection. go-redis's own frames there leave a new
// goroutine's 4 KiB first stack about 250 bytes to spare, and a goroutine
// that goes over copies its stack to one twice the size first: every
// goroutine that sends a command, again after each garbage collection that
// shrank it (docs/PERFORMANCE.md, "The guard's frames").
const maxStackAdded = 256

// maxStackAddedRace is maxStackAdded under the race detector, whose
// instrumentation makes every frame larger (go-redis's alone overflow 4 KiB
// then): it still catches a frame that grew.
const maxStackAddedRace = 352

// TestGuardStackOnTheReadPath measures how deep a command's read of its
// reply runs in the stack of the goroutine that sent it, through plain
// go-redis and through the guard, and bounds the difference: on a plain
// client, and on one with go-redis's client-side cache, whose misses go to
// the server through a hook of their own.
func TestGuardStackOnTheReadPath(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		srv := miniredis.RunT(t)
		checkStackAdded(t, func(dial dialFunc) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Dialer: dial})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(dial dialFunc) redis.UniversalClient {
			return newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}, Dialer: dial}})
		})
	})
	t.Run("client-side cache", func(t *testing.T) {
		srv := redistest.StartServer(t) // miniredis has no CLIENT TRACKING
		checkStackAdded(t, func(dial dialFunc) redis.UniversalClient {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Dialer: dial, Protocol: 3, ClientSideCacheConfig: benchCSCConfig()})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}, func(dial dialFunc) redis.UniversalClient {
			opts := benchCSCOptions(srv.Addr())
			opts.Dialer = dial
			return newTestClient(t, Options{Redis: opts})
		})
	})
}

// checkStackAdded fails when the guarded client's reads run deeper than the
// plain one's by more than the bound.
func checkStackAdded(t *testing.T, plainClient, guardedClient func(dialFunc) redis.UniversalClient) {
	plain := readDepth(t, plainClient)
	guarded := readDepth(t, guardedClient)
	t.Logf("stack under the read of a reply: plain go-redis %d bytes, guarded %d", plain, guarded)
	bound := uintptr(maxStackAdded)
	if raceDetector {
		bound = maxStackAddedRace
	}
	if added := guarded - plain; added > bound {
		t.Errorf("the guard adds %d bytes of stack under a command's read, want at most %d", added, bound)
	}
}

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// readDepth returns how far below the top of a goroutine's stack the read of
// a GET's reply runs, on the client newClient builds with the dialer it is
// given: the least of a few GETs, each from a goroutine of its own.
func readDepth(t *testing.T, newClient func(dialFunc) redis.UniversalClient) uintptr {
	t.Helper()
	var probe stackProbe
	var d net.Dialer
	rdb := newClient(func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &depthConn{TCPConn: conn.(*net.TCPConn), probe: &probe}, nil
	})
	// Each GET is of a key of its own, which a client-side cache misses.
	if err := rdb.Get(context.Background(), "k0").Err(); err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	least := ^uintptr(0)
	for i := range 3 {
		done := make(chan uintptr)
		go func() {
			growStack(len(done))
			var top byte
			probe.arm(uintptr(unsafe.Pointer(&top)))
			err := rdb.Get(context.Background(), fmt.Sprintf("k%d", i+1)).Err()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			depth := probe.disarm()
			if err != nil {
				t.Error(err)
			}
			done <- depth
		}()
		if depth := <-done; depth > 0 {
			least = min(least, depth)
		}
	}
	if least == ^uintptr(0) {
		t.Fatal("no read measured")
	}
	return least
}

// stackProbe records the deepest read below the top it was armed with.
type stackProbe struct {
	top, deepest atomic.Uintptr
}

func (p *stackProbe) arm(top uintptr) {
	p.deepest.Store(0)
	p.top.Store(top)
}

func (p *stackProbe) disarm() uintptr {
	p.top.Store(0)
	return p.deepest.Load()
}

// depthConn records in its probe how deep its reads run. It is a TCP
// connection still, which go-redis and the guard treat as they do in use.
type depthConn struct {
	*net.TCPConn
	probe *stackProbe
}

func (c *depthConn) Read(b []byte) (int, error) {
	var here byte
	if top := c.probe.top.Load(); top != 0 {
		// A read of another goroutine's (a health check) is far away, or
		// above.
		if d := top - uintptr(unsafe.Pointer(&here)); d < 64<<10 && d > c.probe.deepest.Load() {
			c.probe.deepest.Store(d)
		}
	}
	return c.TCPConn.Read(b)
}

// growStack grows the calling goroutine's stack beyond what a command needs,
// so that it does not move (and the addresses compared stay valid) while the
// goroutine sends one.
//
//go:noinline
func growStack(i int) byte {
	var room [32 << 10]byte
	room[i] = 1
	return room[len(room)-1-i]
}
