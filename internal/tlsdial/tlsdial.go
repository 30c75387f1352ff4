// Package tlsdial dials TLS connections to Redis and tells a plaintext Redis
// port apart from a slow TLS server.
//
// Contract: Dialer.DialContext returns a *tls.Conn whose handshake
// completed within the context and the net.Dialer's Timeout; or an error
// wrapping ErrServerNotTLS, soon after PlaintextProbeDelay (plus twice the
// TCP handshake), when the port answered a plaintext PING on a second
// connection with a Redis reply, or answered the ClientHello itself in Redis;
// or the dial's or the handshake's own error. Nothing is ever written to the
// TLS connection but the handshake: a TLS server gets the probe on a
// connection of its own, and drops it.
package tlsdial

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrServerNotTLS means that the server speaks Redis without TLS
// (redisguard.ErrServerNotTLS).
var ErrServerNotTLS = errors.New("redisguard: the server does not speak TLS")

// PlaintextProbeDelay is how long a TLS handshake may go unanswered before the
// dialer asks, on a second connection, whether the port speaks plaintext
// Redis. A TLS server answers a ClientHello within a round trip; the round
// trip of the TCP handshake is added to the delay, twice.
const PlaintextProbeDelay = 200 * time.Millisecond

// maxProbeReply bounds what the plaintext probe reads and quotes.
const maxProbeReply = 80

// Dialer dials TCP, then makes the TLS handshake, as tls.Dialer does, and
// tells a plaintext Redis port apart from a slow TLS server.
//
// A plaintext redis-server that receives a ClientHello reads it as an inline
// command and, since the hello's first line holds a NUL byte, never answers:
// tls.Dialer would wait for the whole timeout. So when the handshake has had
// no answer for PlaintextProbeDelay, the dialer sends a PING in plaintext on
// a second connection; a Redis reply ("+PONG", "-NOAUTH …") proves the port
// speaks plaintext, and the handshake is abandoned with ErrServerNotTLS. A TLS
// server drops the probe (it is not a ClientHello), and the handshake goes on
// untouched: nothing is ever added to the TLS connection itself. A server
// that answers the ClientHello with plaintext bytes fails the handshake at
// once; that error is given the same meaning.
type Dialer struct {
	Net    *net.Dialer
	Config *tls.Config
}

// DialContext dials addr and completes the TLS handshake within ctx and the
// net.Dialer's Timeout, which bounds both, as tls.Dialer's does.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Net.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Net.Timeout)
		defer cancel()
	}
	start := time.Now()
	raw, err := d.Net.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, d.clientConfig(addr))

	handshake, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	var watcher sync.WaitGroup
	watcher.Go(func() {
		d.watchHandshake(handshake, network, addr, PlaintextProbeDelay+2*time.Since(start), abandon)
	})
	err = conn.HandshakeContext(handshake)
	abandon(nil) // stops the watcher, whose probe may still be waiting
	watcher.Wait()
	if err != nil {
		_ = raw.Close()
		if cause := context.Cause(handshake); errors.Is(cause, ErrServerNotTLS) {
			return nil, cause
		}
		return nil, plaintextAnswer(addr, err)
	}
	return conn, nil
}

// clientConfig is d.Config with the ServerName taken from addr when it has
// none, as tls.Dialer sets it.
func (d *Dialer) clientConfig(addr string) *tls.Config {
	if d.Config.ServerName != "" {
		return d.Config
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c := d.Config.Clone()
	c.ServerName = host
	return c
}

// watchHandshake waits delay for the handshake under ctx to end, then probes
// addr in plaintext and abandons the handshake if the probe proves the port
// speaks plaintext Redis.
func (d *Dialer) watchHandshake(ctx context.Context, network, addr string, delay time.Duration, abandon context.CancelCauseFunc) {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return
	case <-timer.C:
	}
	if reply, ok := d.probePlaintext(ctx, network, addr); ok {
		abandon(fmt.Errorf("%w: %s gave no TLS answer, and answered a plaintext PING with %q: "+
			"it is a Redis port without TLS: use a redis:// URL (no TLSConfig), or the server's tls-port",
			ErrServerNotTLS, addr, reply))
	}
}

// probePlaintext sends a PING in plaintext on a connection of its own and
// reports whether the answer is a Redis reply, with its first line. It gives
// up, with false, when ctx ends.
func (d *Dialer) probePlaintext(ctx context.Context, network, addr string) (string, bool) {
	conn, err := d.Net.DialContext(ctx, network, addr)
	if err != nil {
		return "", false
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return "", false
	}
	buf := make([]byte, 0, maxProbeReply)
	for len(buf) < cap(buf) {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if line, _, ok := bytes.Cut(buf, []byte("\r\n")); ok {
			return string(line), isRESPReply(line)
		}
		if err != nil {
			return "", false
		}
	}
	return "", false
}

// isRESPReply reports whether line is the first line of a Redis reply to a
// PING: a simple string or an error, in printable ASCII.
func isRESPReply(line []byte) bool {
	if len(line) < 2 || (line[0] != '+' && line[0] != '-') {
		return false
	}
	for _, b := range line {
		if b < ' ' || b > '~' {
			return false
		}
	}
	return true
}

// plaintextAnswer gives a handshake error that shows the server answered in
// plaintext Redis ("-ERR …", "+…" where a TLS record was due) the meaning
// of ErrServerNotTLS; it returns any other error as it is.
func plaintextAnswer(addr string, err error) error {
	var header tls.RecordHeaderError
	if !errors.As(err, &header) {
		return err
	}
	start, _, _ := bytes.Cut(header.RecordHeader[:], []byte("\r"))
	if !isRESPReply(start) {
		return err
	}
	return fmt.Errorf("%w: %s answered the TLS handshake with %q: it is a Redis port without TLS: "+
		"use a redis:// URL (no TLSConfig), or the server's tls-port: %w",
		ErrServerNotTLS, addr, start, err)
}
