package redisguard

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/redisguard/redisguard/internal/redistest"
)

// records is a slog.Handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

// find returns the records whose message contains s.
func (r *records) find(s string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.recs {
		if strings.Contains(rec.Message, s) {
			out = append(out, rec)
		}
	}
	return out
}

// Not parallel: it replaces go-redis's process-wide logger for its duration.
func TestGoRedisRecordsGoToTheLogger(t *testing.T) {
	var got records
	redis.SetLogger(NewGoRedisLogger(slog.New(&got)))
	t.Cleanup(logging.Enable) // go-redis's default: the standard error

	srv := redistest.StartServer(t)
	addr := srv.Addr()
	srv.Kill()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING to a killed server succeeded")
	}
	dials := got.find("failed to dial")
	if len(dials) == 0 {
		t.Fatal("go-redis's record of the failed dials did not reach the logger")
	}
	if rec := dials[0]; rec.Level != slog.LevelWarn || strings.HasPrefix(rec.Message, "redis:") || !strings.Contains(rec.Message, "connection refused") {
		t.Fatalf("record %v %q: want a warning without go-redis's prefix", rec.Level, rec.Message)
	}
}

func TestGoRedisMessages(t *testing.T) {
	var got records
	g := NewGoRedisLogger(slog.New(&got))
	g.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 5, "dial tcp: connection refused")
	g.Printf(context.Background(), "autopipeline: recovered full-duplex hook panic: %v\n%s", "boom", "goroutine 1 [running]")
	g.Printf(context.Background(), "sentinel: new master=%q addr=%q", "mymaster", "10.0.0.2:6379")
	g.Printf(context.Background(), "redis: connection pool: failed to process new connection by hook: %v",
		"ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' 'hunter2-Secret'")
	want := []struct {
		level slog.Level
		msg   string
	}{
		{slog.LevelWarn, "connection pool: failed to dial after 5 attempts: dial tcp: connection refused"},
		{slog.LevelError, "autopipeline: recovered full-duplex hook panic: boom\ngoroutine 1 [running]"},
		{slog.LevelInfo, `sentinel: new master="mymaster" addr="10.0.0.2:6379"`},
		{slog.LevelWarn, "connection pool: failed to process new connection by hook: ERR unknown command 'HELLO', with args beginning with: (not shown)"},
	}
	if len(got.recs) != len(want) {
		t.Fatalf("%d records, want %d", len(got.recs), len(want))
	}
	for i, w := range want {
		if rec := got.recs[i]; rec.Level != w.level || rec.Message != w.msg {
			t.Errorf("record %d: %v %q, want %v %q", i, rec.Level, rec.Message, w.level, w.msg)
		}
	}
	NewGoRedisLogger(nil).Printf(context.Background(), "discarded") // a nil logger discards, without a panic
}
