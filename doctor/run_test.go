package doctor_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/doctor"
	"github.com/redisguard/redisguard/internal/redistest"
)

// hardened is the configuration the production checklist asks for. The
// password has characters that URLs and shells treat specially.
const hardenedPassword = "s3cret#@pw!"

var hardened = []string{
	`requirepass "` + hardenedPassword + `"`,
	"maxmemory 64mb",
	"maxmemory-policy allkeys-lru",
	`rename-command FLUSHALL ""`,
	`rename-command FLUSHDB ""`,
	`rename-command DEBUG ""`,
	`rename-command KEYS ""`,
	"appendonly yes",
}

func TestDefaultServerFails(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "", ""), doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	want(t, checks, doctor.IDAuth, doctor.Fail)
	want(t, checks, doctor.IDMaxmemory, doctor.Warn, doctor.Fail)
	want(t, checks, doctor.IDDangerousCommands, doctor.Warn, doctor.Fail)
	want(t, checks, doctor.IDEvictionPolicy, doctor.Fail) // noeviction, for a cache
	want(t, checks, doctor.IDReplication, doctor.Warn)
	if !report.Failed() || report.ExitCode() != 1 {
		t.Errorf("Failed() %v, ExitCode() %d; want true, 1", report.Failed(), report.ExitCode())
	}
	if report.Role != doctor.RoleCache {
		t.Errorf("role %q, want the default, cache", report.Role)
	}
	if len(report.Checks) < 15 {
		t.Errorf("%d checks, want at least the 15 of the checklist", len(report.Checks))
	}
	for _, c := range report.Checks {
		if c.Status != doctor.Pass && c.Status != doctor.Skip && c.Advice == "" {
			t.Errorf("%s is %s with no advice", c.ID, c.Status)
		}
	}
}

func TestHardenedServerPasses(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "", hardenedPassword), doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	for _, id := range []string{doctor.IDAuth, doctor.IDMaxmemory, doctor.IDEvictionPolicy, doctor.IDPersistence, doctor.IDBind, doctor.IDMemoryUsage} {
		want(t, checks, id, doctor.Pass)
	}
	want(t, checks, doctor.IDDangerousCommands, doctor.Pass, doctor.Warn) // CONFIG is still there
	if got := checks[doctor.IDDangerousCommands].Detail; !strings.Contains(got, "FLUSHALL (renamed away)") {
		t.Errorf("dangerous-commands: %q does not say FLUSHALL was renamed away", got)
	}
	if report.Failed() || report.ExitCode() != 0 {
		t.Errorf("Failed() %v, ExitCode() %d; want false, 0: %+v", report.Failed(), report.ExitCode(), report.Checks)
	}
	if out := rendered(t, report); strings.Contains(out, hardenedPassword) {
		t.Errorf("the password appears in the output:\n%s", out)
	}
}

func TestStoreRoleJudgesDurability(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "maxmemory 64mb", "maxmemory-policy allkeys-lru")
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "", ""), doctor.Options{Role: doctor.RoleStore})
	checks := byID(t, report)
	want(t, checks, doctor.IDPersistence, doctor.Fail)    // neither RDB nor AOF
	want(t, checks, doctor.IDEvictionPolicy, doctor.Fail) // a store must not evict
	if report.Role != doctor.RoleStore {
		t.Errorf("role %q, want store", report.Role)
	}
}

func TestRestrictedUserSkipsWithReasons(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "user app on >apppw ~* +@all -config -info", "requirepass adminpw")
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "app", "apppw"), doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	for _, id := range []string{doctor.IDMaxmemory, doctor.IDEvictionPolicy, doctor.IDMemoryUsage, doctor.IDFragmentation,
		doctor.IDPersistence, doctor.IDReplication, doctor.IDMaxclients, doctor.IDTimeout, doctor.IDProtectedMode, doctor.IDBind} {
		want(t, checks, id, doctor.Skip)
		if d := checks[id].Detail; !strings.Contains(d, "not permitted") {
			t.Errorf("%s skipped saying %q, want the permission it lacks", id, d)
		}
	}
	// What needs neither CONFIG nor INFO still runs.
	want(t, checks, doctor.IDAuth, doctor.Pass)
	want(t, checks, doctor.IDVersion, doctor.Pass, doctor.Warn) // from HELLO
	// CONFIG not permitted counts in its favour; FLUSHALL is still allowed.
	dangerous := checks[doctor.IDDangerousCommands]
	want(t, checks, doctor.IDDangerousCommands, doctor.Fail)
	if !strings.Contains(dangerous.Detail, "CONFIG (denied by ACL)") || !strings.Contains(dangerous.Detail, "FLUSHALL") {
		t.Errorf("dangerous-commands: %q", dangerous.Detail)
	}
}

func TestUserWithoutACLPermissionsStillAudits(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "user app on >apppw ~* +@all -@admin -@dangerous", "requirepass adminpw")
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "app", "apppw"), doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	checks := byID(t, report)
	// -@dangerous denies FLUSHALL, FLUSHDB, CONFIG, DEBUG and KEYS, and ACL
	// DRYRUN with them: only CONFIG's refusal is seen, the rest is unknown.
	want(t, checks, doctor.IDDangerousCommands, doctor.Warn)
	if d := checks[doctor.IDDangerousCommands].Detail; !strings.Contains(d, "ACL DRYRUN not permitted") {
		t.Errorf("dangerous-commands: %q does not say why it cannot tell", d)
	}
	want(t, checks, doctor.IDAuth, doctor.Pass) // from the second connection alone
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := client(t, srv.Addr(), "", "")
	srv.Kill()
	start := time.Now()
	report := doctor.Run(context.Background(), rdb, doctor.Options{})
	took := time.Since(start)
	t.Logf("a dead server: %v after %v", report.Err, took.Round(time.Millisecond))
	within(t, "the audit of a dead server", took, 10*time.Second)
	if !errors.Is(report.Err, doctor.ErrUnreachable) {
		t.Fatalf("Err %v, want ErrUnreachable", report.Err)
	}
	if report.ExitCode() != 2 || len(report.Checks) != 0 {
		t.Errorf("ExitCode() %d with %d checks, want 2 and none", report.ExitCode(), len(report.Checks))
	}
}

func TestPausedServerEndsWithinTheBound(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	// A client that ignores contexts and would wait 3 s per command.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: 3 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	const commandTimeout = 300 * time.Millisecond
	start := time.Now()
	report := doctor.Run(context.Background(), rdb, doctor.Options{CommandTimeout: commandTimeout, Timeout: 2 * time.Second})
	took := time.Since(start)
	srv.Kill() // ends the PING the audit left behind
	t.Logf("a paused server: %v after %v", report.Err, took.Round(time.Millisecond))
	within(t, "the audit of a paused server", took, commandTimeout+time.Second)
	if !errors.Is(report.Err, doctor.ErrUnreachable) {
		t.Fatalf("Err %v, want ErrUnreachable", report.Err)
	}
	if !strings.Contains(report.Err.Error(), "no answer to PING within 300ms") {
		t.Errorf("Err %q does not say what got no answer", report.Err)
	}
}

func TestServerPausedDuringTheAudit(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := client(t, srv.Addr(), "", "")
	// Pause the server just before the audit reads the slow log.
	rdb.AddHook(pauseBefore{name: "slowlog", pause: srv.Stop})
	const commandTimeout = 300 * time.Millisecond
	start := time.Now()
	report := doctor.Run(context.Background(), rdb, doctor.Options{CommandTimeout: commandTimeout})
	took := time.Since(start)
	srv.Continue()
	t.Logf("paused before SLOWLOG: %d checks, %d skipped, %v after %v", len(report.Checks), report.Count(doctor.Skip), report.Err, took.Round(time.Millisecond))
	// One command waits its timeout; the ones after it are skipped at once.
	within(t, "the audit", took, 2*commandTimeout+time.Second)
	if !errors.Is(report.Err, doctor.ErrUnreachable) {
		t.Fatalf("Err %v, want ErrUnreachable", report.Err)
	}
	checks := byID(t, report)
	want(t, checks, doctor.IDMaxmemory, doctor.Fail) // learned before the pause
	want(t, checks, doctor.IDSlowlog, doctor.Pass, doctor.Skip)
	if d := checks[doctor.IDLatency].Detail; !strings.Contains(d, "no answer to SLOWLOG GET within 300ms") {
		t.Errorf("latency: %q, want the stalled command as the reason", d)
	}
	if report.ExitCode() != 2 {
		t.Errorf("ExitCode() %d, want 2", report.ExitCode())
	}
}

// pauseBefore calls pause once, before the first command called name.
type pauseBefore struct {
	name  string
	pause func()
}

func (h pauseBefore) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h pauseBefore) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == h.name {
			h.pause()
		}
		return next(ctx, cmd)
	}
}
func (h pauseBefore) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestWrongPasswordIsAnAuthenticationError(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	const wrong = "not-the-password-42"
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "", wrong), doctor.Options{})
	if !errors.Is(report.Err, doctor.ErrAuthentication) {
		t.Fatalf("Err %v, want ErrAuthentication", report.Err)
	}
	if out := rendered(t, report); strings.Contains(out, wrong) || strings.Contains(out, hardenedPassword) {
		t.Errorf("a password appears in the output:\n%s", out)
	}
}

func TestNoCredentialsOnAProtectedServerIsAnAuthenticationError(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, hardened...)
	report := doctor.Run(context.Background(), client(t, srv.Addr(), "", ""), doctor.Options{})
	if !errors.Is(report.Err, doctor.ErrAuthentication) {
		t.Fatalf("Err %v, want ErrAuthentication", report.Err)
	}
}

// The audit reads and never writes: the server ran only read-only commands,
// holds no key, and its configuration is what it was.
func TestAuditIsReadOnly(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "latency-monitor-threshold 1")
	admin := client(t, srv.Addr(), "", "")
	ctx := context.Background()
	before, err := admin.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	report := doctor.Run(ctx, client(t, srv.Addr(), "", ""), doctor.Options{})
	if report.Err != nil {
		t.Fatal(report.Err)
	}
	readOnly := []string{"ping", "info", "hello", "config|get", "command|info", "acl|whoami", "acl|dryrun",
		"acl|getuser", "pubsub|numsub", "slowlog|get", "latency|latest",
		"config|resetstat"} // the test's own
	for _, name := range commandsRun(t, srv, admin) {
		if !slices.Contains(readOnly, name) {
			t.Errorf("the audit ran %s", name)
		}
	}
	if n := admin.DBSize(ctx).Val(); n != 0 {
		t.Errorf("%d keys after the audit, want 0", n)
	}
	after, err := admin.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("config %s changed from %q to %q", k, v, after[k])
		}
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	report := doctor.Run(ctx, client(t, srv.Addr(), "", ""), doctor.Options{})
	if !errors.Is(report.Err, context.Canceled) || errors.Is(report.Err, doctor.ErrUnreachable) {
		t.Errorf("Err %v, want context.Canceled and not ErrUnreachable", report.Err)
	}
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	for _, tc := range []struct {
		opts  doctor.Options
		field string
	}{
		{doctor.Options{Role: "database"}, "Options.Role"},
		{doctor.Options{Timeout: -time.Second}, "Options.Timeout"},
		{doctor.Options{CommandTimeout: -time.Second}, "Options.CommandTimeout"},
		{doctor.Options{Timeout: time.Second, CommandTimeout: 2 * time.Second}, "Options.CommandTimeout"},
	} {
		report := doctor.Run(context.Background(), rdb, tc.opts)
		if !errors.Is(report.Err, doctor.ErrInvalidOptions) || !strings.Contains(report.Err.Error(), tc.field) {
			t.Errorf("%+v: Err %v, want ErrInvalidOptions naming %s", tc.opts, report.Err, tc.field)
		}
	}
	if report := doctor.Run(context.Background(), nil, doctor.Options{}); !errors.Is(report.Err, doctor.ErrInvalidOptions) {
		t.Errorf("nil client: Err %v, want ErrInvalidOptions", report.Err)
	}
}
