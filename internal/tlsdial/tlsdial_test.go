package tlsdial

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// A port that speaks plaintext Redis never answers a ClientHello (a NUL in
// its first line keeps the inline command unfinished), but answers a PING
// on a second connection: the dial fails soon after the probe delay, with
// ErrServerNotTLS quoting the reply.
func TestAPlaintextPortIsToldApart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
			go func() {
				buf := make([]byte, 4096)
				n, _ := conn.Read(buf)
				if strings.Contains(string(buf[:n]), "PING") {
					_, _ = conn.Write([]byte("-NOAUTH Authentication required.\r\n"))
				} // a ClientHello: silence, as redis-server keeps
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-accepted
		for _, c := range conns {
			_ = c.Close()
		}
	})
	start := time.Now()
	_, err = (&Dialer{Net: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{ServerName: "127.0.0.1"}}).DialContext(context.Background(), "tcp", ln.Addr().String())
	took := time.Since(start)
	if !errors.Is(err, ErrServerNotTLS) || !strings.Contains(err.Error(), "-NOAUTH") {
		t.Fatalf("dial: %v; want ErrServerNotTLS quoting the reply", err)
	}
	if took < PlaintextProbeDelay || took > 5*time.Second {
		t.Fatalf("the dial failed after %v: want after the probe delay (%v), long before the timeout", took, PlaintextProbeDelay)
	}
}

// A slow TLS server is probed, and the probe, which it does not answer in
// Redis, leaves the handshake alone; a paused one is probed and times out.
func TestSlowOrPausedTLSServerIsNotTakenForPlaintext(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "redisguard test CA")
	cfg := &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}

	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		_, tlsAddr := redistest.StartTLSServer(t, ca)
		proxy := redistest.NewProxy(t, tlsAddr)
		proxy.Latency(2 * PlaintextProbeDelay) // the handshake takes twice that
		d := &Dialer{Net: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
		conn, err := d.DialContext(context.Background(), "tcp", proxy.Addr())
		if err != nil {
			t.Fatalf("dial through 400 ms of latency: %v", err)
		}
		defer conn.Close()
		if _, ok := conn.(*tls.Conn); !ok {
			t.Fatalf("dialed a %T, want a *tls.Conn", conn)
		}
		if n := proxy.Accepted(); n != 2 {
			t.Fatalf("the proxy accepted %d connections: want the handshake's and the probe's", n)
		}
	})
	t.Run("paused", func(t *testing.T) {
		t.Parallel()
		srv, tlsAddr := redistest.StartTLSServer(t, ca)
		srv.Stop()
		t.Cleanup(srv.Continue)
		const timeout = time.Second
		start := time.Now()
		_, err := (&Dialer{Net: &net.Dialer{Timeout: timeout}, Config: cfg}).DialContext(context.Background(), "tcp", tlsAddr)
		took := time.Since(start)
		var nerr net.Error
		if errors.Is(err, ErrServerNotTLS) || !(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout()) {
			t.Fatalf("dial to a paused TLS server: %v, want a timeout", err)
		}
		if took > timeout+time.Second {
			t.Fatalf("the dial took %v with a %v timeout", took, timeout)
		}
	})
}

// A server that answers the ClientHello in plaintext fails the handshake at
// once; the error says what it is.
func TestPlaintextAnswerToTheHandshake(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		_, _ = conn.Read(buf)
		_, _ = conn.Write([]byte("-ERR unknown command\r\n"))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-served
	})
	start := time.Now()
	_, err = (&Dialer{Net: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{ServerName: "127.0.0.1"}}).DialContext(context.Background(), "tcp", ln.Addr().String())
	var header tls.RecordHeaderError
	if !errors.Is(err, ErrServerNotTLS) || !errors.As(err, &header) || !strings.Contains(err.Error(), `"-ERR "`) {
		t.Fatalf("dial: %v; want ErrServerNotTLS wrapping the record header error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the dial took %v", took)
	}
}
