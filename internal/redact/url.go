package redact

import (
	"errors"
	"net/url"
	"strings"
)

// EncodeAdvice says how to put any password in a URL.
const EncodeAdvice = "percent-encode the password with url.PathEscape ('#' is %23, '/' is %2F, '?' is %3F, " +
	"'@' is %40, '%' is %25, ' ' is %20), or build the URL with url.URL{User: url.UserPassword(user, password)}"

// UserinfoCutShort reports whether raw has an '@' after the end of its
// authority, which url.Parse places at the first '/', '?' or '#' after the
// scheme: the sign of a password holding one of them unencoded. url.Parse
// would take part of the password for the host or the port (so that
// "redis://:17198#Kx9@host" dials localhost:17198), or fail with an error
// quoting it. A unix:// URL without user info ("unix:///path") may hold an
// '@' in its path; with user info, its path can only be told from a password
// cut short when it writes '@' as %40.
func UserinfoCutShort(raw string) bool {
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

// URL is raw without its user info and without the values of query
// parameters that may hold a secret, for an error message: everything between
// the scheme and the last '@' is replaced, so that even a URL whose password
// holds unencoded delimiters shows none of it.
func URL(raw string) string {
	head, query, hasQuery := strings.Cut(raw, "?")
	if at := strings.LastIndex(raw, "@"); hasQuery && at > len(head) {
		// An '@' after the '?': the user info was cut short (see
		// UserinfoCutShort), the query is not one.
		head, query, hasQuery = raw, "", false
	}
	if scheme, rest, ok := strings.Cut(head, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			head = scheme + "://" + Mask + rest[at:]
		}
	} else if at := strings.LastIndex(head, "@"); at >= 0 {
		head = Mask + head[at:]
	}
	if !hasQuery {
		return head
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	pairs := strings.Split(query, "&")
	for i, pair := range pairs {
		if name, _, ok := strings.Cut(pair, "="); ok && isSecretParam(name) {
			pairs[i] = name + "=" + Mask
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

// QuerySecrets returns the values, raw and unescaped, of raw's query
// parameters that may hold a secret.
func QuerySecrets(raw string) []string {
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

// URLError describes an error of url.Parse without quoting the URL. An
// invalid escape is described in words: its text quotes three characters,
// which may be the password's.
func URLError(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var escape url.EscapeError
	if errors.As(err, &escape) {
		return "it holds a '%' that does not begin a %XX escape: " + EncodeAdvice
	}
	return Text(err.Error(), append(QuerySecrets(raw), RawURLPassword(raw))...)
}

// RawURLPassword is the password of a URL that url.Parse rejected, found by
// hand: the text between the first ':' of the user info and its last '@'.
func RawURLPassword(raw string) string {
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
