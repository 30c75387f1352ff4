package redistest

import (
	"fmt"
	"net"
	"strconv"
)

const (
	// loopbackHost is the only address the harness listens on or dials.
	loopbackHost = "127.0.0.1"

	// reservedPort is Redis's well-known port. A developer's own
	// redis-server may be listening there, so the harness never binds it.
	reservedPort = 6379
)

// loopbackAddr returns "127.0.0.1:port".
func loopbackAddr(port int) string {
	return net.JoinHostPort(loopbackHost, strconv.Itoa(port))
}

// listenLoopback listens on 127.0.0.1:port; port 0 lets the kernel choose.
func listenLoopback(port int) (*net.TCPListener, error) {
	ln, err := net.Listen("tcp4", loopbackAddr(port))
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// listenFreePort listens on a kernel-chosen loopback port other than
// reservedPort.
func listenFreePort() (*net.TCPListener, error) {
	ln, err := listenLoopback(0)
	if err != nil || portOf(ln) != reservedPort {
		return ln, err
	}
	// Keep holding the reserved port so that the second pick cannot be it.
	defer ln.Close()
	return listenLoopback(0)
}

// freePort returns a loopback port that was free a moment ago. Whoever
// binds it must cope with losing the race for it to another process.
func freePort() (int, error) {
	ln, err := listenFreePort()
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return portOf(ln), nil
}

func portOf(ln *net.TCPListener) int {
	return ln.Addr().(*net.TCPAddr).Port
}

// clusterBusOffset is how far above its client port a cluster node listens
// for the other nodes, as Redis does when cluster-port is not set.
const clusterBusOffset = 10000

// freeClusterPortTries bounds the search for a port whose bus port is free.
const freeClusterPortTries = 50

// freeClusterPort returns a loopback port that was free a moment ago, as
// was the cluster bus port clusterBusOffset above it. Like freePort, the
// caller must cope with losing either of them to another process.
func freeClusterPort() (int, error) {
	var lastErr error
	for range freeClusterPortTries {
		ln, err := listenFreePort()
		if err != nil {
			return 0, err
		}
		port := portOf(ln)
		if port+clusterBusOffset > 65535 {
			_ = ln.Close()
			continue
		}
		bus, err := listenLoopback(port + clusterBusOffset)
		_ = ln.Close()
		if err != nil {
			lastErr = err
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port with a free cluster bus port in %d tries (last: %v)", freeClusterPortTries, lastErr)
}
