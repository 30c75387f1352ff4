package redistest

import (
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
