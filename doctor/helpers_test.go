package doctor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/doctor"
	"github.com/redisguard/redisguard/internal/redistest"
)

// client returns a go-redis client to srv as user with password (both may
// be empty), closed when the test ends. It does not retry and honours
// contexts, as the command line's does.
func client(t testing.TB, addr, user, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		Username:              user,
		Password:              password,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// byID returns the checks of a one-server report by ID, failing the test
// when the report is not one check of each.
func byID(t testing.TB, r doctor.Report) map[string]doctor.Check {
	t.Helper()
	out := map[string]doctor.Check{}
	for _, c := range r.Checks {
		if _, dup := out[c.ID]; dup {
			t.Fatalf("check %s reported twice", c.ID)
		}
		out[c.ID] = c
	}
	return out
}

// want fails the test unless the check id has one of the statuses.
func want(t testing.TB, checks map[string]doctor.Check, id string, statuses ...doctor.Status) {
	t.Helper()
	c, ok := checks[id]
	if !ok {
		t.Errorf("no %s check", id)
		return
	}
	for _, s := range statuses {
		if c.Status == s {
			return
		}
	}
	t.Errorf("%s: %s (%s), want %v", id, c.Status, c.Detail, statuses)
}

// rendered returns the report as the table and as JSON, for leak checks.
func rendered(t testing.TB, r doctor.Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(j)
	if r.Err != nil {
		fmt.Fprintf(&b, "%v %+v", r.Err, r.Err)
	}
	return b.String()
}

// commandsRun returns the commands the server has executed, by INFO
// commandstats name ("config|get", "ping").
func commandsRun(t testing.TB, srv *redistest.Server, admin *redis.Client) []string {
	t.Helper()
	info, err := admin.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats on %s: %v", srv.Addr(), err)
	}
	var names []string
	for line := range strings.Lines(info) {
		if name, ok := strings.CutPrefix(line, "cmdstat_"); ok {
			name, _, _ = strings.Cut(name, ":")
			names = append(names, name)
		}
	}
	return names
}

// within fails the test when d exceeds bound.
func within(t testing.TB, what string, d, bound time.Duration) {
	t.Helper()
	if d > bound {
		t.Errorf("%s took %v, more than %v", what, d.Round(time.Millisecond), bound)
	}
}
