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
	return lookPath(t, "redis-server", "redis-server")
}

// RedisCLIPath returns the path of the redis-cli binary found in PATH, which
// StartCluster needs to create a cluster. A missing redis-cli skips or fails
// the test as RedisServerPath does.
func RedisCLIPath(t testing.TB) string {
	t.Helper()
	return lookPath(t, "redis-cli", "redis-tools")
}

// lookPath finds bin in PATH, or skips or fails t saying which Debian
// package provides it.
func lookPath(t testing.TB, bin, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err == nil {
		return path
	}
	if os.Getenv(requireRedisEnv) == "1" {
		t.Fatalf("%s not found in PATH (%v), and %s=1 makes that a failure: install Debian's %s package", bin, err, requireRedisEnv, debianPackage)
	}
	t.Skipf("%s not found in PATH: install Debian's %s package, or set %s=1 to make this a failure", bin, debianPackage, requireRedisEnv)
	return ""
}
