package redisguard

import (
	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/internal/wire"
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
	return wire.IsSetupName(name, sub)
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
