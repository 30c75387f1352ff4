package doctor_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/doctor"
)

// A service audits its Redis at start-up and logs what needs attention,
// without failing to start.
func ExampleRun() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	report := doctor.Run(context.Background(), rdb, doctor.Options{Role: doctor.RoleCache})
	if report.Err != nil {
		slog.Warn("redis audit could not run", "err", report.Err)
		return
	}
	for _, c := range report.Checks {
		if c.Status == doctor.Warn || c.Status == doctor.Fail {
			slog.Warn("redis audit", "check", c.ID, "status", c.Status, "found", c.Detail, "todo", c.Advice)
		}
	}
}

func ExampleReport_WriteTable() {
	report := doctor.Report{
		Role: doctor.RoleCache,
		Checks: []doctor.Check{
			{ID: doctor.IDAuth, Status: doctor.Pass, Detail: "a connection without credentials is refused (NOAUTH Authentication required.)"},
			{ID: doctor.IDEvictionPolicy, Status: doctor.Fail, Detail: "noeviction: when memory is full, every write fails with OOM instead of evicting", Advice: "maxmemory-policy allkeys-lru (or allkeys-lfu)"},
		},
	}
	_ = report.WriteTable(os.Stdout)
	// Output:
	// STATUS  CHECK            FOUND                                                                            TO DO
	// PASS    auth             a connection without credentials is refused (NOAUTH Authentication required.)
	// FAIL    eviction-policy  noeviction: when memory is full, every write fails with OOM instead of evicting  maxmemory-policy allkeys-lru (or allkeys-lfu)
	//
	// 2 checks, role cache: 1 pass, 0 warn, 1 fail, 0 skip
}
