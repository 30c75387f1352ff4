package redisguard

import "github.com/redis/go-redis/v9"

// readOnlyCommands may run twice without changing what the server holds, so a
// command that lost its connection after being written may be sent again.
// Anything not listed (including every module command) is treated as a write.
var readOnlyCommands = map[string]struct{}{
	// keys and strings
	"get": {}, "mget": {}, "getrange": {}, "substr": {}, "strlen": {}, "getbit": {},
	"bitcount": {}, "bitpos": {}, "bitfield_ro": {}, "lcs": {},
	"exists": {}, "type": {}, "ttl": {}, "pttl": {}, "expiretime": {}, "pexpiretime": {},
	"keys": {}, "scan": {}, "randomkey": {}, "dbsize": {}, "dump": {}, "object": {},
	"sort_ro": {},
	// hashes
	"hget": {}, "hmget": {}, "hgetall": {}, "hkeys": {}, "hvals": {}, "hlen": {},
	"hexists": {}, "hstrlen": {}, "hscan": {}, "hrandfield": {},
	// lists
	"lrange": {}, "lindex": {}, "llen": {}, "lpos": {},
	// sets
	"smembers": {}, "sismember": {}, "smismember": {}, "scard": {}, "srandmember": {},
	"sscan": {}, "sinter": {}, "sintercard": {}, "sunion": {}, "sdiff": {},
	// sorted sets
	"zrange": {}, "zrangebyscore": {}, "zrevrange": {}, "zrevrangebyscore": {},
	"zrangebylex": {}, "zrevrangebylex": {}, "zrank": {}, "zrevrank": {}, "zscore": {},
	"zmscore": {}, "zcard": {}, "zcount": {}, "zlexcount": {}, "zscan": {},
	"zrandmember": {}, "zinter": {}, "zintercard": {}, "zunion": {}, "zdiff": {},
	// streams (XREADGROUP moves entries to the pending list, so it is not here)
	"xrange": {}, "xrevrange": {}, "xlen": {}, "xread": {}, "xpending": {},
	// geo
	"geopos": {}, "geodist": {}, "geohash": {}, "georadius_ro": {},
	"georadiusbymember_ro": {}, "geosearch": {},
	// scripts declared read-only
	"eval_ro": {}, "evalsha_ro": {}, "fcall_ro": {},
	// server
	"ping": {}, "echo": {}, "info": {}, "time": {}, "lastsave": {},
}

// readOnly reports whether cmd may safely run twice.
func readOnly(cmd redis.Cmder) bool {
	_, ok := readOnlyCommands[cmd.Name()]
	return ok
}

// allReadOnly reports whether every command of a pipeline or transaction may
// safely run twice. MULTI and EXEC frame a transaction and change nothing.
func allReadOnly(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		switch name := cmd.Name(); name {
		case "multi", "exec":
		default:
			if _, ok := readOnlyCommands[name]; !ok {
				return false
			}
		}
	}
	return true
}
