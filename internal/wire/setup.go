package wire

import (
	"bytes"
	"strconv"
)

// IsSetupName reports whether a command named name, with sub as its first
// argument, is one go-redis sends to set up a connection, spelled as it
// spells them.
func IsSetupName(name, sub string) bool {
	switch name {
	case "hello", "auth", "select", "readonly":
		return true
	case "client":
		switch sub {
		case "setname", "setinfo", "tracking", "maint_notifications":
			return true
		}
	}
	return false
}

// isSetupRequest reports whether a request written to a connection, p (at
// least its start), begins with a command go-redis sends to set up the
// connection.
func isSetupRequest(p []byte) bool {
	if len(p) == 0 || p[0] != '*' {
		return false
	}
	_, rest, ok := bytes.Cut(p, []byte("\r\n"))
	if !ok {
		return false
	}
	name, rest, ok := bulkArg(rest)
	if !ok {
		return false
	}
	sub, _, _ := bulkArg(rest)
	return IsSetupName(string(name), string(sub))
}

// bulkArg returns the bulk string p starts with and what follows it.
func bulkArg(p []byte) (arg, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '$' {
		return nil, nil, false
	}
	header, rest, ok := bytes.Cut(p[1:], []byte("\r\n"))
	if !ok {
		return nil, nil, false
	}
	n, err := strconv.Atoi(string(header))
	if err != nil || n < 0 || n+2 > len(rest) {
		return nil, nil, false
	}
	return rest[:n], rest[n+2:], true
}
