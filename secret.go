package redisguard

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redact"
)

// Redact returns s with every credential the client was given replaced by
// xxxxx: the passwords of its options or URL (and of its sentinels), the
// password its PasswordFile held when New read it, and a username given with
// a password (but not "default"), each also as it would appear escaped. Use it
// on any text that may quote a server, which may quote the client's own
// credentials back (an error reply of a proxy, say); the client does so itself
// in its events, logs and health answers.
func (c *Client) Redact(s string) string { return redact.Text(s, c.secrets...) }

// secrets are the credentials of a client built from o with username and
// password: those, and the password o's PasswordFile holds now.
func (o *Options) secrets(username, password string) []string {
	if o.PasswordFile != "" {
		if pw, err := readPasswordFile(o.PasswordFile); err == nil {
			password = pw
		}
	}
	return redact.Credentials(username, password)
}

// clientSecrets are the credentials of a client the application built.
func clientSecrets(rdb redis.UniversalClient) []string {
	switch r := rdb.(type) {
	case *redis.Client:
		if r != nil {
			return redact.Credentials(r.Options().Username, r.Options().Password)
		}
	case *redis.ClusterClient:
		if r != nil {
			return redact.Credentials(r.Options().Username, r.Options().Password)
		}
	}
	return nil
}

// readPasswordFile returns the password held in path, without trailing newlines.
func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}

// passwordFileCredentials re-reads the file for every new connection, so a rotated
// Kubernetes Secret takes effect without restarting the service.
func passwordFileCredentials(username, path string) func(context.Context) (string, string, error) {
	return func(context.Context) (string, string, error) {
		pw, err := readPasswordFile(path)
		if err != nil {
			return "", "", fmt.Errorf("redisguard: PasswordFile: %w", err)
		}
		return username, pw, nil
	}
}

// redactErr returns err, or an error with its message cleaned of the client's
// passwords when it holds one.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := redact.Text(msg, c.secrets...); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError is an error whose message had a password in it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() error { return e.err }

// String describes the options as fmt's %+v would, without a secret: the
// URL's user info and secret query parameters and every password of Redis
// and Cluster are shown as xxxxx (a set username is kept).
func (o Options) String() string {
	type plain Options // the fields, without these methods
	p := plain(o)
	p.URL, p.Redis, p.Cluster = "", nil, nil
	rest := strings.TrimPrefix(fmt.Sprintf("%+v", p), "{URL: Redis:<nil> Cluster:<nil>")
	var b strings.Builder
	b.WriteString("{URL:")
	b.WriteString(redact.URL(o.URL))
	b.WriteString(" Redis:")
	if o.Redis != nil {
		r := *o.Redis
		r.Password = hidden(r.Password)
		r.SentinelPassword = hidden(r.SentinelPassword)
		fmt.Fprintf(&b, "&%+v", r)
	} else {
		b.WriteString("<nil>")
	}
	b.WriteString(" Cluster:")
	if o.Cluster != nil {
		c := *o.Cluster
		c.Password = hidden(c.Password)
		fmt.Fprintf(&b, "&%+v", c)
	} else {
		b.WriteString("<nil>")
	}
	b.WriteString(rest)
	return b.String()
}

// hidden is what the printed options show of a password.
func hidden(password string) string {
	if password == "" {
		return ""
	}
	return redact.Mask
}

// GoString is String for %#v.
func (o Options) GoString() string { return "redisguard.Options" + o.String() }

// Format prints String with every verb and its flags, width and precision
// (%#v prints GoString), so that no verb prints a secret.
func (o Options) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, o.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), o.String())
}

// LogValue logs the options as the servers they name, without a secret.
func (o Options) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 4)
	if o.URL != "" {
		attrs = append(attrs, slog.String("url", redact.URL(o.URL)))
	}
	if r := o.Redis; r != nil {
		attrs = append(attrs, slog.Any("addrs", r.Addrs))
		if r.MasterName != "" {
			attrs = append(attrs, slog.String("master_name", r.MasterName))
		}
	}
	if c := o.Cluster; c != nil {
		attrs = append(attrs, slog.Any("cluster_addrs", c.Addrs))
	}
	if o.PasswordFile != "" {
		attrs = append(attrs, slog.String("password_file", o.PasswordFile))
	}
	attrs = append(attrs, slog.String("options", o.String()))
	return slog.GroupValue(attrs...)
}
