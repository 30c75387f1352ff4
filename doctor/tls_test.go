package doctor_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/doctor"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A hardened server audited over real TLS: the connection without
// credentials goes through the client's TLS dialer too (and is refused for
// want of a password, not for want of TLS), and the tls check names the
// encrypted connection.
func TestAuditOverTLS(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "doctor test CA")
	_, tlsAddr := redistest.StartTLSServer(t, ca, hardened...)
	c := redis.NewClient(&redis.Options{
		Addr:                  tlsAddr,
		Password:              hardenedPassword,
		TLSConfig:             &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12},
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
	})
	t.Cleanup(func() { _ = c.Close() })
	report := doctor.Run(context.Background(), c, doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	want(t, checks, doctor.IDTLS, doctor.Pass)
	if d := checks[doctor.IDTLS].Detail; !strings.Contains(d, "TLS to "+tlsAddr) {
		t.Errorf("tls: %q, want it to name the TLS connection to %s", d, tlsAddr)
	}
	want(t, checks, doctor.IDAuth, doctor.Pass)
	if d := checks[doctor.IDAuth].Detail; strings.Contains(strings.ToLower(d), "tls") || strings.Contains(strings.ToLower(d), "certificate") {
		t.Errorf("auth: %q: the connection without credentials failed on TLS, not on the password", d)
	}
	if report.ExitCode() != 0 {
		t.Errorf("ExitCode() %d, want 0: %+v", report.ExitCode(), report.Checks)
	}
	if out := rendered(t, report); strings.Contains(out, hardenedPassword) {
		t.Errorf("the password appears in the output:\n%s", out)
	}
}
