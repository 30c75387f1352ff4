package redisguard

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redistest"
)

// capture records every text the client shows the outside: errors, events and
// log lines.
type capture struct {
	mu   sync.Mutex
	text []string
	log  bytes.Buffer
}

func (c *capture) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text = append(c.text, s)
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.Write(p)
}

func (c *capture) hooks() Hooks {
	return Hooks{
		OnConnect:      func(addr string) { c.add("connect " + addr) },
		OnError:        func(err error) { c.add(fmt.Sprintf("error %v %+v %#v", err, err, err)) },
		OnReconnecting: func(n int, d time.Duration) { c.add(fmt.Sprint("reconnecting ", n, d)) },
		OnEnd:          func(err error) { c.add(fmt.Sprintf("end %v", err)) },
	}
}

func (c *capture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.text, "\n") + "\n" + c.log.String()
}

func TestPasswordsAppearNowhere(t *testing.T) {
	const right = "right-Secret-4242"
	const wrong = "wrong-Secret-1717"
	dir := t.TempDir()
	file := func(pw string) string {
		f, err := os.CreateTemp(dir, "password-*")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(pw + "\n"); err != nil {
			t.Fatal(err)
		}
		return f.Name()
	}
	sources := []struct {
		name string
		opts func(addr, pw string) Options
	}{
		{"URL", func(addr, pw string) Options { return Options{URL: "redis://:" + pw + "@" + addr + "/0"} }},
		{"Redis.Password", func(addr, pw string) Options {
			return Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}, Password: pw}}
		}},
		{"PasswordFile", func(addr, pw string) Options {
			return Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}}, PasswordFile: file(pw)}
		}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.StartServer(t, "requirepass "+right)
			ctx := context.Background()
			var seen capture
			record := func(err error) {
				if err != nil {
					seen.add(fmt.Sprintf("returned %v %+v %#v", err, err, err))
				}
			}
			withCapture := func(o Options) Options {
				o.Hooks = seen.hooks()
				o.Logger = slog.New(slog.NewTextHandler(&seen, &slog.HandlerOptions{Level: slog.LevelDebug}))
				o.Reconnect = ExponentialBackoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, MaxRetries: 3}
				return o
			}

			// The right password: connect, work, lose the server, get it back.
			c, err := New(withCapture(src.opts(srv.Addr(), right)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := waitReady(c); err != nil {
				t.Fatalf("WaitReady with the right password: %v", err)
			}
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			srv.Kill()
			record(c.Get(ctx, "k").Err())
			record(c.Get(ctx, "k").Err())
			srv.Restart()
			record(waitReady(c))

			// A wrong password: every attempt is refused until the client gives up.
			bad, err := New(withCapture(src.opts(srv.Addr(), wrong)))
			if err != nil {
				t.Fatal(err)
			}
			record(bad.WaitReady(ctx))
			record(bad.Get(ctx, "k").Err())
			bad.Close()
			c.Close()

			all := seen.all()
			if !strings.Contains(all, "WRONGPASS") {
				t.Fatalf("the wrong password was never reported; captured:\n%s", all)
			}
			for _, pw := range []string{right, wrong} {
				if strings.Contains(all, pw) {
					t.Fatalf("a password appears in an error, event or log line:\n%s", all)
				}
			}
		})
	}
}

func TestPasswordFileIsReadForEveryNewConnection(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, "requirepass first-password")
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("first-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Options{
		Redis:        &redis.UniversalOptions{Addrs: []string{srv.Addr()}},
		PasswordFile: path,
	})
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	// The secret rotates: the server and the mounted file change together,
	// and the server drops every connection.
	admin := srv.Client(t)
	if err := admin.ConfigSet(ctx, "requirepass", "second-password").Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("second-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Logf("CLIENT KILL: %v", err)
	}
	_ = c.Get(ctx, "k").Err()
	if err := waitReady(c); err != nil {
		t.Fatalf("WaitReady after the rotation: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after the rotation: %q, %v", v, err)
	}
}
