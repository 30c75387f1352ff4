package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// redactedPassword stands in for a password wherever a URL or message would show it.
const redactedPassword = "xxxxx"

// parseURL wraps redis.ParseURL so that no error carries the password: url.Parse
// quotes the whole URL in its errors, and go-redis quotes parts of it.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, optionErrorf("URL", "%q is not a valid URL: %s", redactRawURL(raw), redact(err.Error(), rawURLPassword(raw)))
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return nil, optionErrorf("URL", "%q has scheme %q: use redis://, rediss:// or unix://", u.Redacted(), u.Scheme)
	}
	return u, nil
}

// redactRawURL hides the password of a URL that url.Parse rejected, by hand: the
// text between the first ':' of the user info and its last '@'.
func redactRawURL(raw string) string {
	if pw := rawURLPassword(raw); pw != "" {
		return strings.Replace(raw, ":"+pw+"@", ":"+redactedPassword+"@", 1)
	}
	return raw
}

func rawURLPassword(raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	userinfo := rest[:at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return userinfo[i+1:]
	}
	return ""
}

// redact replaces every occurrence of each non-empty secret in msg.
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, redactedPassword)
		}
	}
	return msg
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
