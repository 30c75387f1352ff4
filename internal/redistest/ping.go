package redistest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// pingCommand is PING encoded as a RESP array, which every Redis accepts.
const pingCommand = "*1\r\n$4\r\nPING\r\n"

// ping reports whether a Redis at addr is up and serving commands. -NOAUTH
// and -MASTERDOWN count as up: a server that demands a password, or a replica
// told not to serve while its master is away, has finished loading and is
// answering.
func ping(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp4", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte(pingCommand)); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.HasPrefix(reply, "+PONG") || strings.HasPrefix(reply, "-NOAUTH") || strings.HasPrefix(reply, "-MASTERDOWN") {
		return nil
	}
	return fmt.Errorf("unexpected reply to PING: %q", strings.TrimSpace(reply))
}

// awaitReady polls addr with PING until the server started as p answers,
// p exits, or timeout passes.
func awaitReady(p *process, addr string, timeout time.Duration) error {
	const (
		pollInterval = 20 * time.Millisecond
		pingTimeout  = 500 * time.Millisecond
	)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := ping(addr, pingTimeout)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING within %v (last attempt: %w)", timeout, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before answering PING (%v)", p.err)
		case <-tick.C:
		}
	}
}
