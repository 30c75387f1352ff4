package cache

import (
	"strconv"
	"strings"
)

// go-redis names what it caches in its own format, which a Near reads to tell
// the GET of a Cache's key from every other command:
//
//	redis key:  <db> NUL <len(username)> ":" <username> NUL <key>
//	cache key:  <namespace> <the command as RESP>, e.g. *2\r\n$3\r\nget\r\n$3\r\nkey\r\n
//
// Should go-redis change it, nothing parses: the Near keeps no decoded value
// and every Get reads Redis, which TestNearServesHitsFromMemory would show.

// splitNamespace splits go-redis's namespace off a redis key it names.
func splitNamespace(s string) (ns, rest string, ok bool) {
	db := strings.IndexByte(s, 0)
	if db <= 0 {
		return "", "", false
	}
	colon := strings.IndexByte(s[db+1:], ':')
	if colon <= 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(s[db+1 : db+1+colon])
	end := db + 1 + colon + 1 + n // the NUL after the username
	if err != nil || n < 0 || end >= len(s) || s[end] != 0 {
		return "", "", false
	}
	return s[:end+1], s[end+1:], true
}

const getCommand = "*2\r\n$3\r\nget\r\n$"

// parseGetCacheKey returns the namespace and key of a cache key that stands
// for GET key.
func parseGetCacheKey(cacheKey string) (ns, rkey string, ok bool) {
	ns, rest, ok := splitNamespace(cacheKey)
	if !ok || !strings.HasPrefix(rest, getCommand) {
		return "", "", false
	}
	rest = rest[len(getCommand):]
	crlf := strings.Index(rest, "\r\n")
	if crlf <= 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(rest[:crlf])
	rest = rest[crlf+2:]
	if err != nil || n < 0 || len(rest) != n+2 || rest[n:] != "\r\n" {
		return "", "", false
	}
	return ns, rest[:n], true
}

// parseGetReply returns the value of a RESP reply to GET, or absent for a
// null; ok is false for any other reply.
func parseGetReply(reply []byte) (payload string, absent, ok bool) {
	s := string(reply)
	switch {
	case s == "_\r\n" || s == "$-1\r\n":
		return "", true, true
	case len(s) < 4 || s[0] != '$' || !strings.HasSuffix(s, "\r\n"):
		return "", false, false
	}
	crlf := strings.Index(s, "\r\n")
	n, err := strconv.Atoi(s[1:crlf])
	body := s[crlf+2 : len(s)-2]
	if err != nil || n != len(body) {
		return "", false, false
	}
	return body, false, true
}
