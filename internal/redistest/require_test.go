package redistest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestBinaryPathsFindBinaries(t *testing.T) {
	if got := filepath.Base(RedisServerPath(t)); got != "redis-server" {
		t.Errorf("RedisServerPath = %q, want a redis-server binary", got)
	}
	if got := filepath.Base(RedisCLIPath(t)); got != "redis-cli" {
		t.Errorf("RedisCLIPath = %q, want a redis-cli binary", got)
	}
}

func TestBinaryPathsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, tt := range []struct {
		name, pkg string
		find      func(testing.TB)
	}{
		{"redis-server", "redis-server", func(tb testing.TB) { RedisServerPath(tb) }},
		{"redis-cli", "redis-tools", func(tb testing.TB) { RedisCLIPath(tb) }},
		{"StartCluster", "redis-server", func(tb testing.TB) { StartCluster(tb, ClusterConfig{}) }},
	} {
		install := "install Debian's " + tt.pkg
		t.Run(tt.name+" skips by default", func(t *testing.T) {
			t.Setenv(requireRedisEnv, "")
			r := recordGiveUp(t, tt.find)
			if r.failed != "" || !strings.Contains(r.skipped, install) || !strings.Contains(r.skipped, requireRedisEnv+"=1") {
				t.Errorf("skipped %q, failed %q; want a skip saying how to install (%s) or require it", r.skipped, r.failed, install)
			}
		})
		t.Run(tt.name+" fails when required", func(t *testing.T) {
			t.Setenv(requireRedisEnv, "1")
			r := recordGiveUp(t, tt.find)
			if r.skipped != "" || !strings.Contains(r.failed, install) {
				t.Errorf("skipped %q, failed %q; want a failure saying how to install (%s)", r.skipped, r.failed, install)
			}
		})
	}
}
