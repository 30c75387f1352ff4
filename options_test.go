package redisguard

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/internal/wire"
)

const testSecret = "s3cr3t-Pa55w0rd"

func TestNewRejectsInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  Options
		field string
	}{
		{"URL not parseable", Options{URL: "redis://user:" + testSecret + "@host:port/0"}, "URL"},
		{"URL control character", Options{URL: "redis://:" + testSecret + "@host\x7f:6379"}, "URL"},
		{"URL scheme", Options{URL: "http://:" + testSecret + "@localhost:6379"}, "URL"},
		{"URL bad database", Options{URL: "redis://:" + testSecret + "@localhost:6379/x"}, "URL"},
		{"URL and Redis", Options{URL: "redis://localhost:6379", Redis: &redis.UniversalOptions{}}, "URL"},
		{"QueueLimit negative", Options{QueueLimit: -1}, "QueueLimit"},
		{"ConnectTimeout negative", Options{ConnectTimeout: -time.Second}, "ConnectTimeout"},
		{"CloseTimeout negative", Options{CloseTimeout: -time.Second}, "CloseTimeout"},
		{"PingInterval negative", Options{PingInterval: -time.Second}, "PingInterval"},
		{"Reconnect.Base negative", Options{Reconnect: ExponentialBackoff{Base: -time.Millisecond}}, "Reconnect.Base"},
		{"Reconnect.Max negative", Options{Reconnect: ExponentialBackoff{Max: -time.Millisecond}}, "Reconnect.Max"},
		{"Reconnect.Max below Base", Options{Reconnect: ExponentialBackoff{Base: time.Second, Max: time.Millisecond}}, "Reconnect.Max"},
		{"Reconnect.MaxRetries", Options{Reconnect: ExponentialBackoff{MaxRetries: -2}}, "Reconnect.MaxRetries"},
		{"Reconnect.Jitter one", Options{Reconnect: ExponentialBackoff{Jitter: 1}}, "Reconnect.Jitter"},
		{"Reconnect.Jitter negative", Options{Reconnect: ExponentialBackoff{Jitter: -0.1}}, "Reconnect.Jitter"},
		{"Reconnect.Jitter NaN", Options{Reconnect: &ExponentialBackoff{Jitter: math.NaN()}}, "Reconnect.Jitter"},
		{"Reconnect nil pointer", Options{Reconnect: (*ExponentialBackoff)(nil)}, "Reconnect"},
		{"Reconnect nil func", Options{Reconnect: ReconnectFunc(nil)}, "Reconnect"},
		{"PasswordFile missing", Options{PasswordFile: filepath.Join(dir, "missing")}, "PasswordFile"},
		{"PasswordFile empty", Options{PasswordFile: emptyFile}, "PasswordFile"},
		{"PasswordFile and URL password", Options{URL: "redis://:" + testSecret + "@localhost:6379", PasswordFile: pwFile}, "PasswordFile"},
		{"PasswordFile and Redis.Password", Options{Redis: &redis.UniversalOptions{Password: testSecret}, PasswordFile: pwFile}, "PasswordFile"},
		{"Redis.MaxRetries", Options{Redis: &redis.UniversalOptions{MaxRetries: -2}}, "Redis.MaxRetries"},
		{"Redis.DialTimeout negative", Options{Redis: &redis.UniversalOptions{DialTimeout: -time.Second}}, "Redis.DialTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if err == nil {
				c.Close()
				t.Fatal("New accepted the options")
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("error %q is not an *OptionError", err)
			}
			if oe.Field != tt.field {
				t.Errorf("field %q, want %q (error %q)", oe.Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), "Options."+tt.field) {
				t.Errorf("error %q does not name Options.%s", err, tt.field)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewReportsEveryInvalidField(t *testing.T) {
	_, err := New(Options{QueueLimit: -1, ConnectTimeout: -1, Reconnect: ExponentialBackoff{Jitter: 2}})
	for _, field := range []string{"QueueLimit", "ConnectTimeout", "Reconnect.Jitter"} {
		if err == nil || !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func TestWrapRejectsConnectionOptionsAndUnsupportedClients(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for _, opts := range []Options{
		{URL: "redis://localhost"},
		{Redis: &redis.UniversalOptions{}},
		{PasswordFile: "/dev/null"},
		{KeepAlive: time.Second},
	} {
		if c, err := Wrap(rdb, opts); err == nil {
			c.Close()
			t.Errorf("Wrap accepted %+v", opts)
		} else if !errors.As(err, new(*OptionError)) {
			t.Errorf("Wrap(%+v): %v is not an *OptionError", opts, err)
		}
	}
	if _, err := Wrap(nil, Options{}); err == nil {
		t.Error("Wrap accepted a nil client")
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := Wrap(ring, Options{}); !errors.Is(err, ErrUnsupportedClient) {
		t.Errorf("Wrap(ring): %v, want ErrUnsupportedClient", err)
	}
}

func TestReplyLimitsValidated(t *testing.T) {
	t.Parallel()
	l, errs := (&Options{}).replyLimits()
	if len(errs) > 0 || l != (wire.Limits{Bulk: DefaultMaxReplyBulkBytes, Elements: DefaultMaxReplyElements, Depth: DefaultMaxReplyDepth, Line: DefaultMaxReplyLineBytes}) {
		t.Fatalf("defaults: %+v, %v", l, errs)
	}
	for _, c := range []struct {
		o     Options
		field string
	}{
		{Options{MaxReplyBulkBytes: -1}, "MaxReplyBulkBytes"},
		{Options{MaxReplyElements: 1 << 60}, "MaxReplyElements"},
		{Options{MaxReplyDepth: -5}, "MaxReplyDepth"},
		{Options{MaxReplyLineBytes: 8}, "MaxReplyLineBytes"},
	} {
		_, err := New(c.o)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != c.field {
			t.Fatalf("%+v: %v, want an OptionError for %s", c.o, err, c.field)
		}
	}
}
