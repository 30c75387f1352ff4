package redisguard

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// No verb of fmt and no slog handler prints a password of the options.
func TestOptionsPrintNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pw"
	for name, o := range map[string]Options{
		"URL user info": {URL: "redis://user:" + secret + "@127.0.0.1:6379/0"},
		"URL query":     {URL: "redis://127.0.0.1:6379/0?password=" + secret + "&dial_timeout=1s"},
		"Redis":         {Redis: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}, Password: secret, SentinelPassword: secret, MasterName: "m"}},
		"Cluster":       {Cluster: &redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000"}, Password: secret}},
	} {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%s", "%q", "%#v", "%x", "%d"} {
			out = append(out, fmt.Sprintf(verb, o), fmt.Sprintf(verb, &o))
		}
		out = append(out, fmt.Sprint(o), fmt.Sprintln(&o), o.String(), o.GoString())
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var b bytes.Buffer
			slog.New(h(&b)).Info("options", "opts", o, "ptr", &o)
			out = append(out, b.String())
		}
		for _, s := range out {
			if strings.Contains(s, secret) {
				t.Fatalf("%s: %s", name, s)
			}
		}
		if s := o.String(); !strings.Contains(s, "127.0.0.1") || !strings.Contains(s, "QueueLimit:") {
			t.Fatalf("%s: %s does not describe the options", name, s)
		}
	}
}

func TestNewRefusesMalformedURLs(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pw"
	for _, c := range []struct{ url, want string }{
		{"redis://:" + secret + "@127.0.0.1:17132:99/0", "not host:port"},
		{"redis://127.0.0.1:6379/0?protocol=9", "protocol=9"},
		{"redis://127.0.0.1:6379/0?password=" + secret, "password"},
		{"redis://127.0.0.1:6379/0?Pass%77ord=" + secret + "&x=1", "x"},
		{"redis://127.0.0.1:6379/0?dial_timeout=1s&password=" + secret + "#frag", "password"},
	} {
		_, err := New(Options{URL: c.url})
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != "URL" || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want an OptionError for URL saying %q", c.url, err, c.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("%s: the error shows the password: %v", c.url, err)
		}
	}
	for _, o := range []Options{
		{Redis: &redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}, Protocol: 4}},
		{Cluster: &redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000"}, Protocol: 1}},
	} {
		var oe *OptionError
		if _, err := New(o); !errors.As(err, &oe) || !strings.HasSuffix(oe.Field, ".Protocol") {
			t.Fatalf("%v: %v, want an OptionError for Protocol", o, err)
		}
	}
	for _, ok := range []string{"redis://[::1]:6379/0", "redis://127.0.0.1:6379/0?protocol=2", "redis://localhost/0"} {
		c, err := New(Options{URL: ok})
		if err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
		c.Close()
	}
}
