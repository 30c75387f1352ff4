package redisguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redact"
)

// redactedPassword stands in for a password wherever a URL or message would show it.
const redactedPassword = redact.Mask

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
	if h := u.Host; strings.Contains(strings.TrimPrefix(h, "["), ":") && !strings.HasSuffix(h, "]") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			why := err.Error()
			var ae *net.AddrError
			if errors.As(err, &ae) {
				why = ae.Err
			}
			return nil, optionErrorf("URL", "%q has host %q, which is not host:port (%s): write one port, and an IPv6 address in brackets", displayURL(raw), h, why)
		}
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

// displayURL is raw without its user info and without the values of query
// parameters that may hold a secret, for an error message: everything between
// the scheme and the last '@' is replaced, so that even a URL whose password
// holds unencoded delimiters shows none of it.
func displayURL(raw string) string {
	head, query, hasQuery := strings.Cut(raw, "?")
	if at := strings.LastIndex(raw, "@"); hasQuery && at > len(head) {
		// An '@' after the '?': the user info was cut short (see
		// userinfoCutShort), the query is not one.
		head, query, hasQuery = raw, "", false
	}
	if scheme, rest, ok := strings.Cut(head, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			head = scheme + "://" + redactedPassword + rest[at:]
		}
	} else if at := strings.LastIndex(head, "@"); at >= 0 {
		head = redactedPassword + head[at:]
	}
	if !hasQuery {
		return head
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	pairs := strings.Split(query, "&")
	for i, pair := range pairs {
		if name, _, ok := strings.Cut(pair, "="); ok && isSecretParam(name) {
			pairs[i] = name + "=" + redactedPassword
		}
	}
	head += "?" + strings.Join(pairs, "&")
	if hasFragment {
		head += "#" + fragment
	}
	return head
}

// isSecretParam reports whether a URL query parameter's name says that its
// value may be a secret (?password=…, which go-redis refuses as an unknown
// parameter, quoting it).
func isSecretParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, s := range []string{"pass", "pwd", "secret", "token", "auth", "cred", "key"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// urlQuerySecrets returns the values, raw and unescaped, of raw's query
// parameters that may hold a secret.
func urlQuerySecrets(raw string) []string {
	_, query, ok := strings.Cut(raw, "?")
	if !ok {
		return nil
	}
	query, _, _ = strings.Cut(query, "#")
	var secrets []string
	for pair := range strings.SplitSeq(query, "&") {
		if name, value, ok := strings.Cut(pair, "="); ok && isSecretParam(name) && value != "" {
			secrets = append(secrets, value)
			if v, err := url.QueryUnescape(value); err == nil && v != value {
				secrets = append(secrets, v)
			}
		}
	}
	return secrets
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
	return redact.Text(err.Error(), append(urlQuerySecrets(raw), rawURLPassword(raw))...)
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
