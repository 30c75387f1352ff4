package cache

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A lease is a Redis key beside a value's key: the right to store the value
// of a load. A miss takes it (SET with a PX of FillLockTTL) before it calls
// the loader; it holds a random token and a fingerprint (SHA-1) of the value
// the key held then, or none. The store after the load is a script that
// writes the value only while the lease holds the token and the key still
// holds the value of the fingerprint: a write of the key since (Set, Update:
// a plain SET) changed it, and a deletion (Delete, an applied invalidation:
// one DEL of the key and its lease) ended the lease. A load that a write
// overtook thus stores nothing, in any instance (memcache's leases,
// Nishtala et al., NSDI 2013, §3.2.1). Writes stay single commands on
// purpose: Redis delays the invalidation messages of keys written inside a
// script or a transaction, which a near tier waits for. The lease is also
// the fill lock: an instance that finds another's lease waits for its value
// instead of loading. One that dies holding it holds it for FillLockTTL at
// most.
const leaseSuffix = "\x00lease"

// leaseKey returns the key of rkey's lease, in rkey's hash slot so that the
// scripts and transactions that touch both work on a Redis Cluster: rkey's
// own hash tag when it has one, rkey as the tag when it holds no '}', and
// otherwise a short tag of the same slot.
func leaseKey(rkey string) string {
	if i := strings.IndexByte(rkey, '{'); i >= 0 {
		if j := strings.IndexByte(rkey[i+1:], '}'); j > 0 {
			return rkey + leaseSuffix
		}
	}
	if strings.IndexByte(rkey, '}') < 0 {
		return "{" + rkey + "}" + leaseSuffix
	}
	return "{" + slotTag(keySlot(rkey)) + "}" + rkey + leaseSuffix
}

func newToken() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// leaseScript is the miss's one round trip after its read: it returns the
// value when one is there and fresh ({1, value}), and otherwise takes the
// lease ({3, the value there, if any}) or reports the holder's token
// ({2, token}). ARGV: the token, the lease's PX, the time in Unix
// milliseconds from which a value whose header says it expired is stale ("0":
// no such check), and "1" to take the lease whatever value is there (it must
// be replaced: corrupt, older than a pending invalidation, or refreshed).
var leaseScript = redis.NewScript(leaseSrc)

const leaseSrc = `
local v = redis.call("GET", KEYS[1])
if v and ARGV[4] ~= "1" then
  local fresh = true
  if ARGV[3] ~= "0" and string.len(v) >= 16 and string.sub(v, 1, 4) == "\0rg\1" then
    local ms = 0
    for i = 5, 12 do ms = ms * 256 + string.byte(v, i) end
    fresh = ms > tonumber(ARGV[3])
  end
  if fresh then return {1, v} end
end
local held = redis.call("GET", KEYS[2])
if held then
  local sep = string.find(held, "\0", 1, true)
  if sep then held = string.sub(held, 1, sep - 1) end
  return {2, held}
end
local fp = ""
if v then fp = redis.sha1hex(v) end
redis.call("SET", KEYS[2], ARGV[1] .. "\0" .. fp, "PX", ARGV[2])
if v then return {3, v} end
return {3}`

// storeScript ends the lease if it holds the token, and then stores a loaded
// value (or deletes the key, for a PX of "0") if the key still holds the
// value it held when the lease was taken. It returns 1 when it stored.
var storeScript = redis.NewScript(storeSrc)

const storeSrc = `
local l = redis.call("GET", KEYS[2])
if not l or string.sub(l, 1, string.len(ARGV[1]) + 1) ~= ARGV[1] .. "\0" then return 0 end
redis.call("DEL", KEYS[2])
local v = redis.call("GET", KEYS[1])
local fp = ""
if v then fp = redis.sha1hex(v) end
if string.sub(l, string.len(ARGV[1]) + 2) ~= fp then return 0 end
if ARGV[3] == "0" then redis.call("DEL", KEYS[1]) else redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end
return 1`

// releaseScript ends a lease that still holds the token, after a load that
// stores nothing.
var releaseScript = redis.NewScript(releaseSrc)

const releaseSrc = `
local l = redis.call("GET", KEYS[1])
if l and string.sub(l, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. "\0" then return redis.call("DEL", KEYS[1]) end
return 0`

// leaseState is what the lease step found.
type leaseState uint8

const (
	leaseValue  leaseState = iota // a fresh value is there
	leaseOthers                   // another load holds the lease
	leaseOwn                      // the lease is this load's
)

// lease is the lease a load stores under: its token, and whether it is the
// load's own (taken by it) or another's it found (a load that does not wait
// stores under the holder's lease: whichever stores first ends it).
type lease struct {
	token string
	own   bool
}

// leaseStep runs leaseScript for rkey within one budget. skipRead takes the
// lease whatever value is there.
func (c *Cache[V]) leaseStep(ctx context.Context, rkey, token string, skipRead bool) (state leaseState, value string, err error) {
	rctx, cancel := c.opContext(ctx)
	defer cancel()
	if c.leasesOff.Load() {
		return c.lockStepUnscripted(rctx, rkey, token, skipRead)
	}
	reply, err := leaseScript.Run(rctx, c.rdb, []string{rkey, leaseKey(rkey)}, c.leaseArgs(token, skipRead)...).Slice()
	if err != nil {
		if c.scriptingRefused(err) {
			return c.lockStepUnscripted(rctx, rkey, token, skipRead)
		}
		return 0, "", err
	}
	return leaseReply(reply)
}

// leaseArgs are the ARGV of leaseScript.
func (c *Cache[V]) leaseArgs(token string, skipRead bool) []any {
	staleFrom, read := "0", "0"
	if c.opts.StaleIfError > 0 {
		staleFrom = strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	if skipRead {
		read = "1"
	}
	return []any{token, c.opts.FillLockTTL.Milliseconds(), staleFrom, read}
}

// leaseReply reads the reply of leaseScript.
func leaseReply(reply []any) (state leaseState, value string, err error) {
	kind, _ := reply[0].(int64)
	if len(reply) > 1 {
		value, _ = reply[1].(string)
	}
	switch kind {
	case 1:
		return leaseValue, value, nil
	case 2:
		return leaseOthers, value, nil
	}
	return leaseOwn, value, nil
}

// lockStepUnscripted is the lease step where scripts cannot run: a read and
// a SET NX in one round trip, a fill lock without the lease's guarantee.
func (c *Cache[V]) lockStepUnscripted(ctx context.Context, rkey, token string, skipRead bool) (leaseState, string, error) {
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, rkey)
	set := pipe.SetNX(ctx, leaseKey(rkey), token, c.opts.FillLockTTL)
	_, _ = pipe.Exec(ctx)
	if err := get.Err(); err != nil && err != redis.Nil {
		return 0, "", err
	}
	if err := set.Err(); err != nil {
		return 0, "", err
	}
	value := get.Val()
	switch {
	case !skipRead && get.Err() == nil && !c.staleAt(value, time.Now()):
		if set.Val() {
			c.releaseLease(ctx, rkey, token)
		}
		return leaseValue, value, nil
	case set.Val():
		return leaseOwn, value, nil
	}
	return leaseOthers, "", nil
}

// storeLeased stores data for px (or deletes the key, for a px of 0) under
// l. stored is false when a write ended the lease since it was taken.
func (c *Cache[V]) storeLeased(ctx context.Context, rkey string, data []byte, px time.Duration, l lease) (stored bool, err error) {
	if !c.leasesOff.Load() {
		n, err := storeScript.Run(ctx, c.rdb, []string{rkey, leaseKey(rkey)}, l.token, data, px.Milliseconds()).Int()
		if err == nil || !c.scriptingRefused(err) {
			return n == 1, err
		}
	}
	// No scripts: store as a fill lock would, without the lease's guarantee.
	c.observe(ResultStoreUnleased)
	pipe := c.rdb.Pipeline()
	var cmd redis.Cmder
	if px == 0 {
		cmd = pipe.Del(ctx, rkey)
	} else {
		cmd = pipe.Set(ctx, rkey, data, px)
	}
	if l.own {
		pipe.Del(ctx, leaseKey(rkey))
	}
	_, _ = pipe.Exec(ctx)
	return cmd.Err() == nil, cmd.Err()
}

// releaseLease ends rkey's lease if it still holds token.
func (c *Cache[V]) releaseLease(ctx context.Context, rkey, token string) {
	if c.leasesOff.Load() {
		_ = c.rdb.Del(ctx, leaseKey(rkey)).Err()
		return
	}
	_ = releaseScript.Run(ctx, c.rdb, []string{leaseKey(rkey)}, token).Err()
}

// scriptingRefused reports whether err says that Redis runs no scripts for
// this client (an ACL without @scripting, a server or proxy without EVAL),
// and turns leases off for the life of the Cache, saying so once. A missing
// script (NOSCRIPT, after SCRIPT FLUSH or a restart) is not one: the scripts
// are sent again with EVAL.
func (c *Cache[V]) scriptingRefused(err error) bool {
	msg := err.Error()
	if !strings.HasPrefix(msg, "NOPERM") && !strings.Contains(msg, "unknown command") && !strings.Contains(msg, "scripting") {
		return false
	}
	if !c.leasesOff.Swap(true) {
		c.observe(ResultLeasesOff)
		if c.opts.Logger != nil {
			c.opts.Logger.Warn("cache: Redis runs no scripts for this client; leases are off, and a load racing a write in another instance may store the older value until its TTL",
				"cache", c.opts.Name, "error", msg)
		}
	}
	return true
}

// opContext bounds one Redis operation of a load by the budget (Timeout).
func (c *Cache[V]) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.opts.Timeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}
