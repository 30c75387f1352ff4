package health_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// leaks fails if an answer holds the password, the server's host or its port.
func leaks(t *testing.T, a answer, password string, port int) {
	t.Helper()
	for _, secret := range []string{password, "127.0.0.1", strconv.Itoa(port), "dial tcp"} {
		if strings.Contains(string(a.body), secret) {
			t.Fatalf("answer %q holds %q", a.body, secret)
		}
	}
}

func TestAnswersHoldNoPasswordAndNoAddress(t *testing.T) {
	t.Parallel()
	const wrong = "wrong-secret-42"
	srv := redistest.StartServer(t, "requirepass right-secret")
	url := fmt.Sprintf("redis://:%s@%s", wrong, srv.Addr())

	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	plainClient := redis.NewClient(opt)
	t.Cleanup(func() { _ = plainClient.Close() })
	guardedClient, err := redisguard.New(redisguard.Options{URL: url, Reconnect: fastReconnect})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = guardedClient.Close() })

	for name, tc := range map[string]struct {
		h    http.Handler
		want string
	}{
		"go-redis":   {health.Handler(plainClient), "WRONGPASS invalid username-password pair or user is disabled."},
		"redisguard": {health.Handler(guardedClient), "client not ready"},
	} {
		for _, accept := range []string{"", "application/health+json"} {
			a := request(tc.h, http.MethodGet, accept)
			if a.code != http.StatusServiceUnavailable || !strings.Contains(string(a.body), tc.want) {
				t.Fatalf("%s: %d %s, want 503 with %q", name, a.code, a.body, tc.want)
			}
			leaks(t, a, wrong, srv.Port())
			t.Logf("%s: %s", name, strings.TrimSpace(string(a.body)))
		}
	}

	// A refused connection: go-redis's error reads "dial tcp 127.0.0.1:…:
	// connect: connection refused". One dial, no retry, so that the refusal
	// comes before the timeout.
	srv.Kill()
	once := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = once.Close() })
	if res := health.Check(context.Background(), once); !strings.Contains(res.Err.Error(), "127.0.0.1") {
		t.Fatalf("raw error %q: the address the body must hide is not in it", res.Err)
	}
	a := request(health.Handler(once), http.MethodGet, "")
	if a.code != http.StatusServiceUnavailable || !strings.Contains(string(a.body), `"error":"connection refused"`) {
		t.Fatalf("after the kill: %d %s, want 503 connection refused", a.code, a.body)
	}
	leaks(t, a, wrong, srv.Port())
}

// reply is a Redis error reply, as go-redis returns it.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

func TestMessagesAreShortAndSafe(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 6379}
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: &os.SyscallError{Syscall: "connect", Err: err}}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{dial(syscall.ECONNREFUSED), "connection refused"},
		{dial(syscall.EHOSTUNREACH), "no route to host"},
		{&net.OpError{Op: "read", Net: "tcp", Addr: addr, Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, "connection reset by peer"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "redis.internal.example"}}, "DNS lookup failed"},
		{&net.OpError{Op: "read", Net: "tcp", Addr: addr, Err: os.ErrDeadlineExceeded}, "timeout"},
		{&net.OpError{Op: "write", Net: "tcp", Addr: addr, Err: errors.New("something odd")}, "network error (write)"},
		{fmt.Errorf("read tcp 10.1.2.3:6379: %w", io.EOF), "connection closed by server"},
		{reply("LOADING Redis is loading the dataset in memory"), "LOADING Redis is loading the dataset in memory"},
		{fmt.Errorf("wrapped: %w", reply("BUSY Redis is busy running a script.")), "BUSY Redis is busy running a script."},
		{reply("WRONGPASS invalid username-password pair or user is disabled."), "authentication failed: WRONGPASS invalid username-password pair or user is disabled."},
		{fmt.Errorf("authentication failed: %w", reply("NOAUTH Authentication required.")), "authentication failed: NOAUTH Authentication required."},
		{reply("ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' 'hunter2' "), "ERR unknown command 'HELLO'"},
		{reply("ERR " + strings.Repeat("x", 500)), "ERR " + strings.Repeat("x", 116) + "…"},
		{redisguard.ErrNotReady, "client not ready"},
		{redisguard.ErrClosed, "client closed"},
		{fmt.Errorf("%w after 10 attempts: %w", redisguard.ErrMaxRetriesReached, dial(syscall.ECONNREFUSED)), "client closed: reconnect retries exhausted: connection refused"},
		{fmt.Errorf("%w after 10 attempts: %w", redisguard.ErrMaxRetriesReached, errors.New("something odd at 10.1.2.3")), "client closed: reconnect retries exhausted"},
		{breaker.ErrOpen, "circuit breaker open"},
		{redisguard.ErrQueueFull, "command queue full"},
		{redis.ErrPoolTimeout, "connection pool timeout"},
		{context.Canceled, "check canceled"},
		{fmt.Errorf("%w: 10.1.2.3:6379 answered a plaintext PING", redisguard.ErrServerNotTLS), "TLS: the server does not speak TLS"},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "TLS: certificate signed by unknown authority"},
		{&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "redis.internal.example"}}, "TLS: certificate not valid for the server's name"},
		{&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}, "TLS: certificate expired or not yet valid"},
		{tls.AlertError(40), "TLS handshake failed"},
		{errors.New("secret stuff at 10.1.2.3:6379"), "PING failed"},
	} {
		got := health.Result{Err: tc.err}.Message()
		if got != tc.want {
			t.Errorf("Message for %v: %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "10.1.2.3") || strings.Contains(got, "hunter2") || strings.Contains(got, "redis.internal") {
			t.Errorf("Message for %v leaks: %q", tc.err, got)
		}
	}
}

func TestTimeoutMessageNamesTheBudget(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := plain(t, srv.Addr())
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	t.Cleanup(srv.Continue)
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	res := health.Check(ctx, rdb)
	if got := res.Message(); got != "timeout after 250ms" {
		t.Fatalf("Message %q (%v), want timeout after 250ms", got, res.Err)
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) && !errors.Is(res.Err, os.ErrDeadlineExceeded) {
		t.Fatalf("Err %v does not wrap the deadline", res.Err)
	}
}
