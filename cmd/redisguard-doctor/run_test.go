package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// password has the characters that break URLs; its pieces are distinctive,
// so that a leak of any piece is caught.
const password = "Zq9#Xv7@Wk3/Rm5"

var passwordPieces = []string{password, "Zq9", "Xv7", "Wk3", "Rm5", url.QueryEscape(password), url.PathEscape(password)}

var hardened = []string{
	fmt.Sprintf("requirepass %q", password),
	"maxmemory 64mb",
	"maxmemory-policy allkeys-lru",
	`rename-command FLUSHALL ""`,
	`rename-command FLUSHDB ""`,
	`rename-command DEBUG ""`,
	`rename-command KEYS ""`,
	"appendonly yes",
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func runCommand(args ...string) result {
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
}

// noLeak fails the test if any piece of the password was printed.
func noLeak(t *testing.T, r result) {
	t.Helper()
	for _, piece := range passwordPieces {
		if strings.Contains(r.stdout, piece) || strings.Contains(r.stderr, piece) {
			t.Errorf("%q was printed:\nstdout:\n%s\nstderr:\n%s", piece, r.stdout, r.stderr)
		}
	}
}

// withPassword returns redis://:password@addr, the password percent-encoded.
func withPassword(addr, pw string) string {
	return (&url.URL{Scheme: "redis", User: url.UserPassword("", pw), Host: addr}).String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultServerExitsOne(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	r := runCommand("redis://" + srv.Addr())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[0], "STATUS") || !strings.Contains(lines[0], "TO DO") {
		t.Errorf("header %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "FAIL") || !strings.Contains(lines[1], "auth") {
		t.Errorf("first check %q, want auth failing", lines[1])
	}
	if r.stderr != "" {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestHardenedServerExitsZeroAndNeverPrintsThePassword(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	file := writeFile(t, password+"\n")
	for _, args := range [][]string{
		{withPassword(srv.Addr(), password)},
		{"-json", withPassword(srv.Addr(), password)},
		{"-password-file", file, "redis://" + srv.Addr()},
		{"-json", "-password-file", file, "redis://" + srv.Addr()},
	} {
		r := runCommand(args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
	}
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	r := runCommand("-json", "-role", "store", withPassword(srv.Addr(), password))
	var report struct {
		Role   string `json:"role"`
		Checks []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("stdout is not the JSON report (%v):\n%s", err, r.stdout)
	}
	if report.Role != "store" || len(report.Checks) < 15 {
		t.Errorf("role %q with %d checks", report.Role, len(report.Checks))
	}
	for _, c := range report.Checks {
		if c.ID == "" || c.Detail == "" || !strings.Contains("pass warn fail skip", c.Status) {
			t.Errorf("check %+v", c)
		}
	}
}

func TestWrongPasswordExitsTwo(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "requirepass right-one")
	r := runCommand(withPassword(srv.Addr(), password))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "authentication failed") || !strings.Contains(r.stderr, "redis://:xxxxx@"+srv.Addr()) {
		t.Errorf("stderr %q, want the redacted URL and why", r.stderr)
	}
	noLeak(t, r)
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

func TestBadURLsExitTwoWithoutThePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis://:" + password + "@127.0.0.1:1",          // '#', '@' and '/' unencoded
		"redis://user:" + password + "@127.0.0.1:1/0",    // with a user
		"redis://:Zq9Xv7@Wk3Rm5@127.0.0.1:1",             // two '@'
		"redis://:Zq9Xv7Wk3Rm5@127.0.0.1:1?nosuch=1",     // an unknown option
		"http://:Zq9Xv7Wk3Rm5@127.0.0.1:1",               // a wrong scheme
		"redis://127.0.0.1:1?master_name=m&password=Zq9", // a failover URL whose password is in the query
	} {
		r := runCommand(raw)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", raw, r.code)
		}
		if r.stderr == "" {
			t.Errorf("%s: nothing on stderr", raw)
		}
		noLeak(t, r)
	}
}

func TestUnreachableServerExitsTwo(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	srv.Kill()
	r := runCommand("redis://" + srv.Addr())
	t.Logf("exit %d after %v: %s", r.code, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	if r.took > 10*time.Second {
		t.Errorf("took %v, more than 10s", r.took)
	}
	if !strings.Contains(r.stderr, "cannot audit redis://"+srv.Addr()) || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestPausedServerExitsTwoWithinTheBound(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	srv.Stop()
	r := runCommand("redis://" + srv.Addr())
	srv.Continue()
	t.Logf("exit %d after %v: %s", r.code, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// The handshake of the first connection waits the 1 s command timeout.
	if r.took > 5*time.Second {
		t.Errorf("took %v, more than the audit's 5s bound", r.took)
	}
	if !strings.Contains(r.stderr, "did not answer") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestSentinelAndCluster(t *testing.T) {
	t.Parallel()
	master := redistest.StartServer(t)
	sentinel := redistest.StartSentinel(t, "mymaster", master)
	r := runCommand("-master", "mymaster", "redis://"+sentinel.Addr())
	if r.code != 1 || !strings.Contains(r.stdout, "Sentinel has nothing to promote") {
		t.Errorf("-master: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCommand("redis://" + sentinel.Addr())
	if r.code != 2 || !strings.Contains(r.stderr, "-master NAME") {
		t.Errorf("a Sentinel without -master: exit %d, stderr %q; want 2 and a hint", r.code, r.stderr)
	}

	node := redistest.StartServer(t, "cluster-enabled yes")
	admin := node.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, "cluster state ok", func() bool {
		info, _ := admin.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})
	r = runCommand("-cluster", "redis://"+node.Addr())
	if r.code != 1 || !strings.Contains(r.stdout, "the cluster has nothing to promote") {
		t.Errorf("-cluster: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestTLSCAturnsTLSOn(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t) // speaks plaintext: the TLS handshake fails
	r := runCommand("-tls-ca", redistest.NewCA(t, "redisguard-doctor test CA").CertFile(t), "-command-timeout", "500ms", "redis://"+srv.Addr())
	if r.code != 2 || !strings.Contains(r.stderr, "cannot audit") {
		t.Errorf("exit %d, stderr %q; want 2 and a failed audit", r.code, r.stderr)
	}
}

func TestFlagsAndArguments(t *testing.T) {
	t.Parallel()
	empty := writeFile(t, "\n")
	for _, tc := range []struct {
		args []string
		code int
		want string // on stderr
	}{
		{[]string{"-h"}, 0, "usage: redisguard-doctor"},
		{[]string{"-role", "database", "redis://127.0.0.1:1"}, 2, "-role"},
		{[]string{"redis://127.0.0.1:1", "redis://127.0.0.1:2"}, 2, "one URL at most"},
		{[]string{"-nosuchflag"}, 2, "not defined"},
		{[]string{"-cluster", "-master", "m", "redis://127.0.0.1:1"}, 2, "exclude each other"},
		{[]string{"-password-file", empty, "redis://127.0.0.1:1"}, 2, "is empty"},
		{[]string{"-password-file", "/nonexistent/pw", "redis://127.0.0.1:1"}, 2, "-password-file"},
		{[]string{"-password-file", writeFile(t, "x"), "redis://:y@127.0.0.1:1"}, 2, "use one"},
		{[]string{"-tls-ca", writeFile(t, "not a certificate"), "redis://127.0.0.1:1"}, 2, "no PEM certificate"},
		{[]string{"-timeout", "1s", "-command-timeout", "2s", "redis://127.0.0.1:1"}, 2, "exceeds -timeout"},
		{[]string{"-command-timeout", "0s", "redis://127.0.0.1:1"}, 2, "must be positive"},
	} {
		r := runCommand(tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// REDIS_URL is used when no URL is given.
func TestURLFromTheEnvironment(t *testing.T) {
	srv := redistest.StartServer(t)
	t.Setenv("REDIS_URL", "redis://"+srv.Addr())
	if r := runCommand(); r.code != 1 || !strings.Contains(r.stdout, srv.Addr()) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// A hardened server on its TLS port, verified with -tls-ca, as an operator
// audits a managed Redis: the password from the URL (redis:// with -tls-ca, or
// rediss://) and from a file, the table and JSON; exit 0, the tls check
// passes, the password is never printed. A CA that did not sign the server's
// certificate is an audit that could not run.
func TestTLSServerIsAudited(t *testing.T) {
	t.Parallel()
	ca := redistest.NewCA(t, "redisguard-doctor test CA")
	_, tlsAddr := redistest.StartTLSServer(t, ca, hardened...)
	caFile := ca.CertFile(t)
	secure := strings.Replace(withPassword(tlsAddr, password), "redis://", "rediss://", 1)
	for _, args := range [][]string{
		{"-tls-ca", caFile, withPassword(tlsAddr, password)},
		{"-tls-ca", caFile, secure},
		{"-json", "-tls-ca", caFile, "-password-file", writeFile(t, password+"\n"), "rediss://" + tlsAddr},
	} {
		r := runCommand(args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "TLS to "+tlsAddr) {
			t.Errorf("%v: the tls check does not name the TLS connection:\n%s", args, r.stdout)
		}
		noLeak(t, r)
	}
	other := redistest.NewCA(t, "some other CA").CertFile(t)
	r := runCommand("-tls-ca", other, "-command-timeout", "500ms", secure)
	if r.code != 2 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("a CA that did not sign the server's certificate: exit %d, stderr %q; want 2 and the certificate named", r.code, r.stderr)
	}
	noLeak(t, r)
}
