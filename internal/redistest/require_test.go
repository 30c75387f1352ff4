package redistest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRedisServerPathFindsBinary(t *testing.T) {
	if got := filepath.Base(RedisServerPath(t)); got != "redis-server" {
		t.Errorf("RedisServerPath = %q, want a redis-server binary", got)
	}
}

func TestRedisServerPathMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	find := func(tb testing.TB) { RedisServerPath(tb) }

	t.Run("skips by default", func(t *testing.T) {
		t.Setenv(requireRedisEnv, "")
		r := recordGiveUp(t, find)
		if r.failed != "" || !strings.Contains(r.skipped, "install Debian's redis-server") || !strings.Contains(r.skipped, requireRedisEnv+"=1") {
			t.Errorf("skipped %q, failed %q; want a skip saying how to install or require redis-server", r.skipped, r.failed)
		}
	})
	t.Run("fails when required", func(t *testing.T) {
		t.Setenv(requireRedisEnv, "1")
		r := recordGiveUp(t, find)
		if r.skipped != "" || !strings.Contains(r.failed, "install Debian's redis-server") {
			t.Errorf("skipped %q, failed %q; want a failure saying how to install redis-server", r.skipped, r.failed)
		}
	})
}
