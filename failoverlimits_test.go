package redisguard

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// A failover client the application built, whose FailoverOptions went
// through LimitFailoverReplies: a sentinel answering a hostile reply (a bulk
// string of 2 GB, which go-redis alone allocates) fails the command by its
// deadline with ErrReplyTooLarge naming the sentinel, through Wrap's guard.
func TestLimitFailoverRepliesHoldsTheSentinels(t *testing.T) {
	t.Parallel()
	sentinel := redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		if !redistest.AnswerHandshake(cmd, w) {
			hostileReplies["bulk"](w)
		}
		return true
	})
	opts := Options{MaxReplyBulkBytes: 1 << 20}
	fo := &redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: []string{sentinel.Addr()}, MaxRetries: -1}
	if err := LimitFailoverReplies(fo, opts); err != nil {
		t.Fatal(err)
	}
	c, err := Wrap(redis.NewFailoverClient(fo), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	start := time.Now()
	err = c.Get(ctx, "k").Err()
	t.Logf("GET through a hostile sentinel: %v after %v", err, time.Since(start))
	// The GET fails (it waits, within its deadline, for the master the
	// supervisor looks for); the supervisor's attempts found the reply too
	// large.
	if err == nil || !errors.Is(c.LastError(), ErrReplyTooLarge) {
		t.Fatalf("GET: %v, last error %v; want a failure, and ErrReplyTooLarge", err, c.LastError())
	}
	if time.Since(start) > hostileDeadline+time.Second {
		t.Fatalf("the GET took %v, past its %v deadline", time.Since(start), hostileDeadline)
	}
	if !strings.Contains(c.LastError().Error(), sentinel.Addr()) {
		t.Fatalf("%v does not name the sentinel %s", c.LastError(), sentinel.Addr())
	}
}

func TestLimitFailoverRepliesValidates(t *testing.T) {
	t.Parallel()
	if err := LimitFailoverReplies(nil, Options{}); err == nil {
		t.Fatal("nil FailoverOptions accepted")
	}
	fo := &redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}}
	err := LimitFailoverReplies(fo, Options{MaxReplyDepth: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxReplyDepth") || fo.Dialer != nil {
		t.Fatalf("MaxReplyDepth -1: %v, Dialer set %v; want an error naming the field and fo untouched", err, fo.Dialer != nil)
	}
}
