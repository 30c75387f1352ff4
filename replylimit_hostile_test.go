package redisguard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
	"github.com/redisguard/redisguard/internal/wire"
)

// hostileReplies are what a broken server or a man in the middle answers,
// each of which takes down a process that reads it with go-redis alone: an
// array header of 2³¹ elements (go-redis reserves 32 GiB at once), a bulk
// string of 2 GB, 5 M levels of nested arrays (a stack overflow), and a line
// that never ends.
var hostileReplies = map[string]func(w *bufio.Writer){
	"array": func(w *bufio.Writer) { w.WriteString("*2147483648\r\n") },
	"bulk":  func(w *bufio.Writer) { w.WriteString("$2000000000\r\n" + strings.Repeat("x", 1<<16)) },
	"nest": func(w *bufio.Writer) {
		chunk := strings.Repeat("*1\r\n", 1<<14)
		for range 5_000_000 / (1 << 14) {
			if _, err := w.WriteString(chunk); err != nil {
				return
			}
		}
	},
	"line": func(w *bufio.Writer) {
		w.WriteString("+")
		chunk := strings.Repeat("x", 1<<16)
		for i := 0; i < 1<<16; i++ { // 4 GiB, or until the client hangs up
			if _, err := w.WriteString(chunk); err != nil {
				return
			}
		}
	},
}

// hostileDeadline is the callers' deadline in the hostile tests.
const hostileDeadline = 2 * time.Second

// Each hostile reply, in answer to GET, MGET and to the HELLO of every new
// connection (the supervisor's included): the process survives it, allocates
// at most 64 MiB for it, and the caller has an error by its deadline. Each
// case runs in a child process, since one that is not refused kills it.
func TestHostileRepliesAreRefused(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a child process per case")
	}
	result := regexp.MustCompile(`hostile: .*`)
	for _, reply := range []string{"array", "bulk", "nest", "line"} {
		for _, to := range []string{"GET", "MGET", "HELLO"} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileReplyChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "REDISGUARD_HOSTILE="+reply+" "+to)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS") {
				if len(out) > 4000 {
					out = out[:4000]
				}
				t.Fatalf("%s in answer to %s: the child process: %v\n%s", reply, to, err, out)
			}
			t.Logf("%s in answer to %s: %s", reply, to, result.Find(out))
		}
	}
}

// TestHostileReplyChild is one case of TestHostileRepliesAreRefused, run in a
// child process.
func TestHostileReplyChild(t *testing.T) {
	reply, to, ok := strings.Cut(os.Getenv("REDISGUARD_HOSTILE"), " ")
	if !ok {
		t.Skip("run by TestHostileRepliesAreRefused")
	}
	hostile := hostileReplies[reply]
	srv := redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		if cmd[0] == to {
			hostile(w)
			return true
		}
		switch {
		case redistest.AnswerHandshake(cmd, w):
		case cmd[0] == "GET":
			w.WriteString("$1\r\nv\r\n")
		case cmd[0] == "MGET":
			w.WriteString("*1\r\n$1\r\nv\r\n")
		default:
			w.WriteString("-ERR unknown command\r\n")
		}
		return true
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	c, err := New(Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	if to == "MGET" {
		err = c.MGet(ctx, "a", "b").Err()
	} else {
		err = c.Get(ctx, "k").Err()
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	fmt.Printf("hostile: %v after %v, %.1f MiB allocated, %.1f MiB of heap held\n", err, elapsed.Round(time.Millisecond), float64(allocated)/(1<<20), float64(after.HeapSys)/(1<<20))
	if err == nil {
		t.Fatal("no error")
	}
	if elapsed > hostileDeadline+time.Second {
		t.Fatalf("the error came after %v, the deadline was %v", elapsed, hostileDeadline)
	}
	if allocated > 64<<20 {
		t.Fatalf("%d MiB allocated for one hostile reply", allocated>>20)
	}
	switch {
	case errors.Is(err, ErrReplyTooLarge):
	case to == "HELLO" && errors.Is(err, ErrNotReady) && strings.Contains(err.Error(), ErrReplyTooLarge.Error()):
		// A hostile handshake fails the supervisor's attempts: the caller
		// is refused with ErrNotReady, which says why (and does not unwrap
		// its cause).
	case to == "HELLO" && errors.Is(err, context.DeadlineExceeded):
		// The command came while the first connection was being made, and
		// its own dial waits for the node to be ready.
		return
	default:
		t.Fatalf("%v, want ErrReplyTooLarge", err)
	}
	if !strings.Contains(err.Error(), srv.Addr()) {
		t.Fatalf("%v does not name the server %s", err, srv.Addr())
	}
}

// The sentinels' connections, which go-redis makes itself, are held to the
// limits too.
func TestLimitedDialerRefusesHostileReplies(t *testing.T) {
	t.Parallel()
	srv := redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		if !redistest.AnswerHandshake(cmd, w) {
			hostileReplies["bulk"](w)
		}
		return true
	})
	lim := wire.Limits{Bulk: 1 << 20, Elements: 1 << 10, Depth: 8, Line: 1 << 10}
	var d net.Dialer
	rdb := redis.NewSentinelClient(&redis.Options{Addr: srv.Addr(), Dialer: wire.LimitedDialer(d.DialContext, &lim), MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	_, err := rdb.GetMasterAddrByName(ctx, "mymaster").Result()
	if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), srv.Addr()) {
		t.Fatalf("%v, want ErrReplyTooLarge naming %s", err, srv.Addr())
	}
}
