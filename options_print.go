package redisguard

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/redisguard/redisguard/internal/redact"
)

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
