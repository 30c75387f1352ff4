package redisguard

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// firstAttemptError builds a client with opts, and returns how long after New
// the error of its first connection attempt was reported, and the error.
func firstAttemptError(t *testing.T, opts Options) (after time.Duration, err error) {
	t.Helper()
	rec := newRecorder()
	opts.Hooks = rec.hooks()
	opts.Reconnect = ExponentialBackoff{Base: time.Second, MaxRetries: -1}
	start := time.Now()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := rec.waitFor(t, "error", 1, 2*opts.ConnectTimeout)
	return e.at.Sub(start), e.err
}

func TestTLSClientOnAPlaintextPortFailsAtOnce(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "redisguard test CA")
	const connectTimeout = 10 * time.Second
	for _, tt := range []struct {
		name   string
		config []string
		opts   func(addr string) Options
		reply  string
	}{
		{"TLSConfig", nil, func(addr string) Options {
			return Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}, TLSConfig: &tls.Config{RootCAs: ca.Pool}}}
		}, "+PONG"},
		{"rediss URL, password required", []string{"requirepass Xq7-Secret-Zw2"}, func(addr string) Options {
			return Options{URL: "rediss://:Xq7-Secret-Zw2@" + addr}
		}, "-NOAUTH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := redistest.StartTLSServer(t, ca, tt.config...)
			opts := tt.opts(srv.Addr()) // the plaintext port
			opts.ConnectTimeout = connectTimeout
			after, err := firstAttemptError(t, opts)
			if !errors.Is(err, ErrServerNotTLS) || !strings.Contains(err.Error(), tt.reply) || !strings.Contains(err.Error(), "redis://") {
				t.Fatalf("attempt error %q: want ErrServerNotTLS quoting %s and saying what to do", err, tt.reply)
			}
			if strings.Contains(err.Error(), "Xq7-Secret-Zw2") {
				t.Fatalf("attempt error %q shows the password", err)
			}
			// Without the probe the attempt waits out the connect timeout.
			if after > connectTimeout/2 {
				t.Fatalf("the attempt failed %v after New, with a %v connect timeout", after, connectTimeout)
			}
			t.Logf("ErrServerNotTLS %v after New: %v", after.Round(time.Millisecond), err)
		})
	}
}

func TestTLSClientOnATLSPortWorks(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "redisguard test CA")
	_, tlsAddr := redistest.StartTLSServer(t, ca)
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: []string{tlsAddr}, TLSConfig: &tls.Config{RootCAs: ca.Pool}}})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET over TLS: %q, %v", v, err)
	}
}

func TestTLSClientWithTheWrongCAFailsAtOnce(t *testing.T) {
	t.Parallel()
	ca, other := redistest.NewCA(t, "redisguard test CA"), redistest.NewCA(t, "some other CA")
	_, tlsAddr := redistest.StartTLSServer(t, ca)
	const connectTimeout = 10 * time.Second
	after, err := firstAttemptError(t, Options{
		Redis:          &redis.UniversalOptions{Addrs: []string{tlsAddr}, TLSConfig: &tls.Config{RootCAs: other.Pool}},
		ConnectTimeout: connectTimeout,
	})
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) || !strings.Contains(err.Error(), "certificate signed by unknown authority") || errors.Is(err, ErrServerNotTLS) {
		t.Fatalf("attempt error %q: want a certificate verification error", err)
	}
	if after > connectTimeout/2 {
		t.Fatalf("the attempt failed %v after New, with a %v connect timeout", after, connectTimeout)
	}
	t.Logf("certificate error %v after New: %v", after.Round(time.Millisecond), err)
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
		proxy.Latency(2 * plaintextProbeDelay) // the handshake takes twice that
		dial := newDialer(10*time.Second, 0, cfg)
		conn, err := dial(context.Background(), "tcp", proxy.Addr())
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
		_, err := newDialer(timeout, 0, cfg)(context.Background(), "tcp", tlsAddr)
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
	_, err = newDialer(10*time.Second, 0, &tls.Config{ServerName: "127.0.0.1"})(context.Background(), "tcp", ln.Addr().String())
	var header tls.RecordHeaderError
	if !errors.Is(err, ErrServerNotTLS) || !errors.As(err, &header) || !strings.Contains(err.Error(), `"-ERR "`) {
		t.Fatalf("dial: %v; want ErrServerNotTLS wrapping the record header error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the dial took %v", took)
	}
}
