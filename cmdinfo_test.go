package redisguard

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// On a real cluster the guard fetches COMMAND info by the time the client is
// ready, go-redis's own fetch is answered from it (its commands learn that
// GET is read-only, which routes reads to replicas with ReadOnly), and the
// application's own COMMAND still goes to a server.
func TestCommandInfoComesFromTheGuardsCopy(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	c := newTestClient(t, Options{Redis: &redis.UniversalOptions{Addrs: cl.Addrs(), IsClusterMode: true, ReadOnly: true}})
	redistest.Eventually(t, 5*time.Second, "the guard has COMMAND info", func() bool {
		return c.cluster.info.val.Load() != nil
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "k").Err(); err != nil {
		t.Fatal(err)
	}
	info, err := c.Command(ctx).Result()
	if err != nil {
		t.Fatalf("the application's COMMAND: %v", err)
	}
	if get := info["get"]; get == nil || !get.ReadOnly {
		t.Fatalf("the application's COMMAND: get is %+v, want a read-only command", get)
	}
	if get := (*c.cluster.info.val.Load())["get"]; get == nil || !get.ReadOnly {
		t.Fatalf("the guard's copy: get is %+v, want a read-only command", get)
	}
	// The servers saw two COMMANDs: the guard's fetch and the application's;
	// not go-redis's own.
	calls := 0
	for _, addr := range cl.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		stats, err := rdb.Info(ctx, "commandstats").Result()
		rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(stats) {
			if rest, ok := strings.CutPrefix(line, "cmdstat_command:calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				calls += n
			}
		}
	}
	if calls != 2 {
		t.Fatalf("the servers saw %d COMMANDs, want 2 (the guard's and the application's)", calls)
	}
}
