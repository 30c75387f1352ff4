package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// redactedPassword stands in for a password wherever a URL or message would show it.
const redactedPassword = "xxxxx"

// parseURL checks a URL before redis.ParseURL reads it, so that no error
// carries the password (url.Parse quotes the whole URL in its errors, and
// go-redis quotes parts of it) and no password is silently cut into a host or
// a port. Every error shows the URL without its user info.
func parseURL(raw string) (*url.URL, error) {
	if userinfoCutShort(raw) {
		return nil, optionErrorf("URL", "%q: the user info ends early at an unencoded '#', '/' or '?', "+
			"which would cut the password and take the rest for the host or the path: %s", displayURL(raw), encodeAdvice)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, optionErrorf("URL", "%q is not a valid URL: %s", displayURL(raw), urlErrorText(err, raw))
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "unix":
		return u, nil
	default:
		return nil, optionErrorf("URL", "%q has scheme %q: use redis://, rediss:// or unix://", displayURL(raw), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, optionErrorf("URL", "%q has no host: write the server's address, as in redis://localhost:6379 "+
			"(go-redis would dial localhost:6379 with the URL's password)", displayURL(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, optionErrorf("URL", "%q has port %s: a port lies between 1 and 65535", displayURL(raw), p)
		}
	}
	return u, nil
}

// encodeAdvice says how to put any password in a URL.
const encodeAdvice = "percent-encode the password with url.PathEscape ('#' is %23, '/' is %2F, '?' is %3F, " +
	"'@' is %40, '%' is %25, ' ' is %20), or build the URL with url.URL{User: url.UserPassword(user, password)}"

// userinfoCutShort reports whether raw has an '@' after the end of its
// authority, which url.Parse places at the first '/', '?' or '#' after the
// scheme: the sign of a password holding one of them unencoded. url.Parse
// would take part of the password for the host or the port (so that
// "redis://:17198#Kx9@host" dials localhost:17198), or fail with an error
// quoting it. A unix:// URL without user info ("unix:///path") may hold an
// '@' in its path; with user info, its path can only be told from a password
// cut short when it writes '@' as %40.
func userinfoCutShort(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 || !strings.Contains(rest[end:], "@") {
		return false
	}
	authority := rest[:end]
	if strings.EqualFold(scheme, "unix") {
		return authority != ""
	}
	return true
}

// displayURL is raw without its user info, for an error message: everything
// between the scheme and the last '@' is replaced, so that even a URL whose
// password holds unencoded delimiters shows none of it.
func displayURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			return redactedPassword + raw[at:]
		}
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://" + redactedPassword + rest[at:]
	}
	return raw
}

// urlErrorText describes an error of url.Parse without quoting the URL. An
// invalid escape is described in words: its text quotes three characters,
// which may be the password's.
func urlErrorText(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var escape url.EscapeError
	if errors.As(err, &escape) {
		return "it holds a '%' that does not begin a %XX escape: " + encodeAdvice
	}
	return redact(err.Error(), rawURLPassword(raw))
}

// rawURLPassword is the password of a URL that url.Parse rejected, found by
// hand: the text between the first ':' of the user info and its last '@'.
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
