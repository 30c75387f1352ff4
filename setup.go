package redisguard

import (
	"bytes"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// IsConnectionSetup reports whether cmd is one that go-redis sends while it sets
// up a new connection (HELLO, AUTH, SELECT, READONLY, CLIENT SETNAME / SETINFO /
// TRACKING / MAINT_NOTIFICATIONS). go-redis runs them through the client's
// hooks, so a hook that counts the application's commands may want to skip
// them. The guard lets them pass untouched: they belong to the command that
// needed the connection, which was admitted already. go-redis spells them in
// lower case; the same commands sent by the application in upper case through
// Do are not taken for connection setup.
func IsConnectionSetup(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) == 0 {
		return false
	}
	name, _ := args[0].(string)
	var sub string
	if len(args) > 1 {
		sub, _ = args[1].(string)
	}
	return isSetupName(name, sub)
}

// isSetupName reports whether a command named name, with sub as its first
// argument, is one go-redis sends to set up a connection, spelled as it
// spells them.
func isSetupName(name, sub string) bool {
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
	return isSetupName(string(name), string(sub))
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

// allConnectionSetup reports whether a pipeline holds connection setup only.
func allConnectionSetup(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		if !IsConnectionSetup(cmd) {
			return false
		}
	}
	return len(cmds) > 0
}
