package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redisguard/redisguard/internal/redistest"
)

// fakeServer answers every command with answer(name, args), a RESP reply, as
// a broken or hostile server would; it returns its address.
func fakeServer(t *testing.T, answer func(name string, args []string) string) string {
	t.Helper()
	return redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		w.WriteString(answer(cmd[0], cmd[1:]))
		return true
	}).Addr()
}

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// A server whose INFO holds a 50 MiB field, NaN and absurd numbers, and
// escape sequences in its version and its bind setting: the audit ends
// within its bound, prints at most 1 MB, no raw control character, and
// judges none of the unreadable values.
func TestHostileServerOutputIsBounded(t *testing.T) {
	t.Parallel()
	info := "# Server\r\nredis_version:7.0.15\x1b[2K\x1b[1A\x1b[32mPASS\x1b[0m\r\n" +
		"huge:" + strings.Repeat("x", 50<<20) + "\r\n" +
		"# Memory\r\nused_memory:NaN\r\nmaxmemory:1e300\r\nmem_fragmentation_ratio:+Inf\r\nused_memory_rss:100\r\n" +
		"# Clients\r\nconnected_clients:1e300\r\nmaxclients:10000\r\n"
	addr := fakeServer(t, func(name string, args []string) string {
		switch name {
		case "PING":
			return "+PONG\r\n"
		case "HELLO":
			return "-ERR unknown command 'HELLO'\r\n"
		case "INFO":
			return bulk(info)
		case "CONFIG":
			return "*2\r\n" + bulk("bind") + bulk("0.0.0.0\x1b]0;pwned\x07\x1b[2J") // the other parameters unknown
		}
		return "-ERR unknown command '" + name + "'\r\n"
	})
	r := runCommand("redis://" + addr)
	t.Logf("exit %d after %v, %d bytes out, %d bytes err", r.code, r.took.Round(time.Millisecond), len(r.stdout), len(r.stderr))
	if r.took > 6*time.Second {
		t.Fatalf("the audit took %v", r.took)
	}
	out := r.stdout + r.stderr
	if len(out) > 1<<20 {
		t.Fatalf("%d bytes printed", len(out))
	}
	for i := 0; i < len(out); i++ {
		if b := out[i]; b < 0x20 && b != '\n' || b == 0x7f {
			t.Fatalf("a raw control character %#x at %d: %q", b, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
	for _, id := range []string{"memory-usage", "fragmentation", "maxmemory"} {
		for line := range strings.Lines(r.stdout) {
			if fields := strings.Fields(line); len(fields) > 1 && fields[1] == id && fields[0] != "SKIP" {
				t.Fatalf("%s judged an unreadable value: %s", id, line)
			}
		}
	}
}

// A server that refuses every command but PING leaves most checks skipped:
// the audit could not audit, exit 2, not a clean 0.
func TestServerRefusingEverythingButPingExitsTwo(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t, func(name string, _ []string) string {
		if name == "PING" {
			return "+PONG\r\n"
		}
		return fmt.Sprintf("-NOPERM this user has no permissions to run the '%s' command\r\n", strings.ToLower(name))
	})
	r := runCommand("redis://" + addr)
	if r.code != 2 || !strings.Contains(r.stdout, "could not audit") {
		t.Fatalf("exit %d, want 2 saying it could not audit\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
