package redisguard

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNegativeRedisOptionsAreOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		field string
		edit  func(*redis.UniversalOptions)
		say   string
	}{
		{"PoolSize", func(o *redis.UniversalOptions) { o.PoolSize = -1 }, "panic"},
		{"MinIdleConns", func(o *redis.UniversalOptions) { o.MinIdleConns = -1 }, "negative"},
		{"MaxIdleConns", func(o *redis.UniversalOptions) { o.MaxIdleConns = -1 }, "close every connection"},
		{"MaxActiveConns", func(o *redis.UniversalOptions) { o.MaxActiveConns = -5 }, "negative"},
		{"PoolTimeout", func(o *redis.UniversalOptions) { o.PoolTimeout = -time.Second }, "pool timeout"},
		{"ReadTimeout", func(o *redis.UniversalOptions) { o.ReadTimeout = -3 }, "-2"},
		{"WriteTimeout", func(o *redis.UniversalOptions) { o.WriteTimeout = -time.Second }, "-2"},
		{"DB", func(o *redis.UniversalOptions) { o.DB = -1 }, "database 0"},
		{"ReadBufferSize", func(o *redis.UniversalOptions) { o.ReadBufferSize = -1 }, "buffer"},
		{"WriteBufferSize", func(o *redis.UniversalOptions) { o.WriteBufferSize = -1 }, "buffer"},
		{"PipelineReadBufferSize", func(o *redis.UniversalOptions) { o.PipelineReadBufferSize = -1 }, "buffer"},
		{"PipelineWriteBufferSize", func(o *redis.UniversalOptions) { o.PipelineWriteBufferSize = -1 }, "buffer"},
		{"DialerRetryTimeout", func(o *redis.UniversalOptions) { o.DialerRetryTimeout = -time.Millisecond }, "wait"},
		{"MaxRedirects", func(o *redis.UniversalOptions) { o.MaxRedirects = -2; o.Addrs = []string{"127.0.0.1:1", "127.0.0.1:2"} }, "no command"},
		{"FailingTimeoutSeconds", func(o *redis.UniversalOptions) { o.FailingTimeoutSeconds = -1 }, "never be avoided"},
	} {
		t.Run(tt.field, func(t *testing.T) {
			o := &redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}}
			tt.edit(o)
			c, err := New(Options{Redis: o})
			if err == nil {
				c.Close()
				t.Fatal("New accepted it")
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != "Redis."+tt.field || !strings.Contains(err.Error(), tt.say) {
				t.Fatalf("error %q: want an *OptionError for Redis.%s saying %q", err, tt.field, tt.say)
			}
		})
	}
}

func TestNegativeURLParametersAreOptionErrors(t *testing.T) {
	for query, say := range map[string]string{
		"pool_size=-1":                  "pool_size=-1",
		"min_idle_conns=-1":             "min_idle_conns=-1",
		"max_idle_conns=-2":             "max_idle_conns=-2",
		"max_active_conns=-1":           "max_active_conns=-1",
		"pool_timeout=0":                "pool_timeout=0 or below",
		"pool_timeout=-3s":              "pool_timeout=0 or below",
		"db=-1":                         "database -1",
		"pipeline_read_buffer_size=-1":  "pipeline_read_buffer_size=-1",
		"pipeline_write_buffer_size=-1": "pipeline_write_buffer_size=-1",
	} {
		t.Run(query, func(t *testing.T) {
			c, err := New(Options{URL: "redis://:" + testSecret + "@127.0.0.1:1/0?" + query})
			if err == nil {
				c.Close()
				t.Fatal("New accepted it")
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != "URL" || !strings.Contains(err.Error(), say) {
				t.Fatalf("error %q: want an *OptionError for URL saying %q", err, say)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
	c, err := New(Options{URL: "redis://127.0.0.1:1/-1"})
	if err == nil || !strings.Contains(err.Error(), "database -1") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a negative database in the path: %v", err)
	}
}

// The values go-redis documents keep working: -1 and -2 timeouts, 0 for the
// defaults, a negative PipelinePoolSize (no pipeline pool), and non-positive
// idle times and lifetimes (no limit).
func TestDocumentedRedisValuesAreAccepted(t *testing.T) {
	for name, o := range map[string]*redis.UniversalOptions{
		"zero":            {},
		"no timeouts":     {ReadTimeout: -1, WriteTimeout: -1},
		"no deadlines":    {ReadTimeout: -2, WriteTimeout: -2},
		"no pipe pool":    {PipelinePoolSize: -1},
		"no idle limit":   {ConnMaxIdleTime: -1, ConnMaxLifetime: -1, ConnMaxLifetimeJitter: -1},
		"default dials":   {MaxConcurrentDials: -1, DialerRetries: -1},
		"no redirects":    {MaxRedirects: -1, Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		"explicit values": {PoolSize: 4, MinIdleConns: 1, MaxIdleConns: 2, MaxActiveConns: 4, PoolTimeout: time.Second, DB: 3},
	} {
		t.Run(name, func(t *testing.T) {
			if len(o.Addrs) == 0 {
				o.Addrs = []string{"127.0.0.1:1"}
			}
			c, err := New(Options{Redis: o})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		})
	}
	c, err := New(Options{URL: "redis://127.0.0.1:1/0?read_timeout=-1&write_timeout=0&conn_max_idle_time=0&pipeline_pool_size=-1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
