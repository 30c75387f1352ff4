package redisguard

import (
	"context"
	"crypto/tls"
	"errors"
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
