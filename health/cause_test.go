package health_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// unready returns a client that cannot connect, as opts describe it, once
// its first attempt failed and it is reconnecting.
func unready(t *testing.T, opts redisguard.Options) *redisguard.Client {
	t.Helper()
	opts.Reconnect = fastReconnect
	c, err := redisguard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	redistest.Eventually(t, 5*time.Second, "a failed attempt", func() bool {
		return c.LastError() != nil && c.State() == redisguard.StateReconnecting
	})
	return c
}

func TestAnswersSayWhyTheClientCannotConnect(t *testing.T) {
	t.Parallel()
	const wrong = "wrong-secret-42"
	srv := redistest.StartServer(t, "requirepass right-secret")
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsServer.StartTLS()                                   // with a certificate no client trusts
	t.Cleanup(tlsServer.Close)
	tlsAddr := strings.TrimPrefix(tlsServer.URL, "https://")

	for _, tc := range []struct {
		name, cause string
		opts        redisguard.Options
		port        string
	}{
		{
			name:  "wrong password",
			cause: "authentication failed: WRONGPASS invalid username-password pair or user is disabled.",
			opts:  redisguard.Options{URL: fmt.Sprintf("redis://:%s@%s", wrong, srv.Addr())},
			port:  fmt.Sprint(srv.Port()),
		},
		{
			name:  "unknown certificate authority",
			cause: "TLS: certificate signed by unknown authority",
			opts:  redisguard.Options{Redis: &redis.UniversalOptions{Addrs: []string{tlsAddr}, TLSConfig: &tls.Config{}}},
			port:  tlsAddr[strings.LastIndex(tlsAddr, ":")+1:],
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := unready(t, tc.opts)
			res := health.Check(context.Background(), c)
			want := "client not ready (reconnecting): " + tc.cause
			if res.Status != health.StatusUnhealthy || res.Message() != want || !errors.Is(res.Err, redisguard.ErrNotReady) ||
				len(res.Nodes) != 1 || res.Nodes[0].Message() != want {
				t.Fatalf("Check: %q, want %q; %+v", res.Message(), want, res)
			}
			for name, h := range map[string]http.Handler{
				"readiness": health.Readiness(c),
				"handler":   health.Handler(c),
				"liveness":  health.Liveness(c),
			} {
				for _, accept := range []string{"", "application/health+json"} {
					a := request(h, http.MethodGet, accept)
					if !strings.Contains(string(a.body), want) {
						t.Fatalf("%s: %d %s, want %q", name, a.code, a.body, want)
					}
					for _, secret := range []string{wrong, "127.0.0.1", tc.port} {
						if strings.Contains(string(a.body), secret) {
							t.Fatalf("%s: %s holds %q", name, a.body, secret)
						}
					}
				}
			}
			t.Logf("%s", request(health.Readiness(c), http.MethodGet, "").body)
		})
	}
}
