package main

import (
	"errors"
	"net/url"
	"strings"

	"github.com/redisguard/redisguard/internal/redact"
)

// errURLSyntax is every URL that does not parse. Its text never quotes the
// URL: a password that breaks the syntax would be printed in pieces that no
// redaction recognises.
var errURLSyntax = errors.New("the URL does not parse: a password with @, #, /, ? or % in it must be percent-encoded (%40, %23, %2F, %3F, %25)")

// parseURL checks raw's syntax. A '#' is refused outright: Redis URLs have
// no fragment, so a '#' is a password character that cut the URL short.
func parseURL(raw string) (*url.URL, error) {
	if strings.Contains(raw, "#") {
		return nil, errURLSyntax
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return nil, errURLSyntax
	}
	return u, nil
}

// isPasswordParam reports whether a query parameter holds a password:
// "password", "sentinel_password".
func isPasswordParam(name string) bool {
	return strings.Contains(strings.ToLower(name), "password")
}

// urlSecrets returns the passwords in u, decoded and as written.
func urlSecrets(u *url.URL) []string {
	var out []string
	if pw, ok := u.User.Password(); ok {
		out = append(out, pw)
		if _, written, ok := strings.Cut(u.User.String(), ":"); ok {
			out = append(out, written)
		}
	}
	for name, values := range u.Query() {
		if isPasswordParam(name) {
			out = append(out, values...)
			for _, v := range values {
				out = append(out, url.QueryEscape(v))
			}
		}
	}
	return out
}

// displayURL returns u for messages, every password replaced.
func displayURL(u *url.URL) string {
	shown := *u
	if _, ok := u.User.Password(); ok {
		shown.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	changed := false
	for name := range q {
		if isPasswordParam(name) {
			q[name] = []string{"xxxxx"}
			changed = true
		}
	}
	if changed {
		shown.RawQuery = q.Encode()
	}
	return redact.Text(shown.String(), urlSecrets(u)...)
}
