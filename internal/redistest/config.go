package redistest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// writeConfig writes the redis.conf of a test server listening on
// 127.0.0.1:port. The harness's directives come first so that the test's
// extra lines (full directive lines such as "maxmemory 10mb") can tune
// anything except where the server listens: a later bind or port would
// break the harness, which owns those.
func writeConfig(path string, port int, extra []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by redistest.
bind %s
port %d
protected-mode no
daemonize no
save ""
appendonly no
logfile ""
`, loopbackHost, port)
	for _, line := range extra {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// passwordFrom returns the argument of the last "requirepass" directive
// among the config lines, as Redis would apply it, or "" when there is
// none. Quoted arguments are unquoted; ACL users are not considered.
func passwordFrom(lines []string) string {
	password := ""
	for _, line := range lines {
		line = strings.TrimSpace(line)
		i := strings.IndexFunc(line, unicode.IsSpace)
		if i > 0 && strings.EqualFold(line[:i], "requirepass") {
			password = unquoteArg(strings.TrimSpace(line[i:]))
		}
	}
	return password
}

// unquoteArg undoes the quoting redis.conf allows around an argument.
func unquoteArg(arg string) string {
	if len(arg) < 2 {
		return arg
	}
	switch {
	case arg[0] == '"' && arg[len(arg)-1] == '"':
		if s, err := strconv.Unquote(arg); err == nil {
			return s
		}
	case arg[0] == '\'' && arg[len(arg)-1] == '\'':
		return arg[1 : len(arg)-1]
	}
	return arg
}

// quoteArg quotes arg as a redis.conf argument, so that any password can be
// written back into a directive: printable ASCII stays as it is, quotes and
// backslashes are escaped, and every other byte is written as \xHH.
func quoteArg(arg string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(arg); i++ {
		switch c := arg[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= ' ' && c <= '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
