package redistest

import (
	"os"
	"os/exec"
	"testing"
)

// requireRedisEnv names the environment variable that turns a missing
// redis-server from a skip into a failure. CI sets it so that a broken
// install cannot pass silently by skipping every integration test.
const requireRedisEnv = "REDISGUARD_REQUIRE_REDIS"

// RedisServerPath returns the path of the redis-server binary found in PATH.
//
// When redis-server is missing the test is skipped, so that the suite stays
// usable on machines without Redis, unless REDISGUARD_REQUIRE_REDIS=1, in
// which case the test fails instead. Either way the message says how to fix
// it. Like t.Skip and t.Fatal, it must be called from the test's goroutine.
func RedisServerPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err == nil {
		return path
	}
	if os.Getenv(requireRedisEnv) == "1" {
		t.Fatalf("redis-server not found in PATH (%v), and %s=1 makes that a failure: install Debian's redis-server package", err, requireRedisEnv)
	}
	t.Skipf("redis-server not found in PATH: install Debian's redis-server package, or set %s=1 to make this a failure", requireRedisEnv)
	return ""
}
