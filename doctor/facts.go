package doctor

import (
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// topology is how the client reaches its servers.
type topology int

const (
	standalone topology = iota
	sentinel            // a failover client: Sentinel names the master
	cluster
	ring
)

// facts is what the audit learned about one server. The checks read it and
// never talk to the server themselves; each field that could not be learned
// has the error saying why.
type facts struct {
	role     Role
	topology topology
	ping     time.Duration // the round trip of the first PING

	info    map[string]string // every field of INFO's default sections
	infoErr error

	config    map[string]string // the parameters in configParams that the server knows
	configErr error

	hello map[string]string // HELLO's server, version, mode and role, when INFO is not permitted

	unreadable string // the key of the last value found unreadable, until a reason says so

	present    map[string]bool // dangerous command → in the command table (not renamed away)
	presentErr error

	dryrun    map[string]string // dangerous command → ACL DRYRUN's answer: "OK" or why not
	dryrunErr error

	defaultUser    []string // the flags of the default user: "on", "nopass", …
	defaultUserErr error

	sentinels    int // Sentinels subscribed to the server's hello channel
	sentinelsErr error

	slowlog    []redis.SlowLog
	slowlogErr error

	latency    []latencyEvent
	latencyErr error

	options    *redis.Options  // the client's, nil when it does not expose them
	withoutPwd unauthenticated // the second connection, without credentials
}

// latencyEvent is one line of LATENCY LATEST.
type latencyEvent struct {
	name   string
	latest time.Duration
	max    time.Duration
}

// configParams are the parameters the checks read with CONFIG GET. None of
// them is a secret: requirepass and masterauth are never asked for.
var configParams = []string{
	"maxmemory", "maxmemory-policy",
	"save", "appendonly", "appendfsync", "stop-writes-on-bgsave-error",
	"maxclients", "timeout", "tcp-keepalive",
	"protected-mode", "bind",
	"slowlog-log-slower-than", "slowlog-max-len",
	"latency-monitor-threshold",
	"enable-debug-command",
}

// setting returns a server setting from CONFIG GET, or failing that from the
// INFO field that mirrors it (infoKey, "" when none does).
func (f *facts) setting(param, infoKey string) (string, bool) {
	if v, ok := f.config[param]; ok {
		return v, true
	}
	if infoKey != "" {
		v, ok := f.info[infoKey]
		return v, ok
	}
	return "", false
}

// number returns an INFO field as a number.
func (f *facts) number(key string) (float64, bool) {
	v, ok := f.info[key]
	if !ok {
		return 0, false
	}
	return f.readable(key, v)
}

// settingNumber returns a setting as a number.
func (f *facts) settingNumber(param, infoKey string) (float64, bool) {
	v, ok := f.setting(param, infoKey)
	if !ok {
		return 0, false
	}
	return f.readable(param, v)
}

// maxReadable bounds the numbers a server reports: no count, size or ratio of
// a real server comes near it.
const maxReadable = 1e18

// readable parses v, the value of key, as a number; one that is not a
// number, not finite or absurd is unreadable, and the next reason asked for
// (whyNoInfo, whyNoConfig) says so: a check never judges it.
func (f *facts) readable(key, v string) (float64, bool) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > maxReadable {
		f.unreadable = key
		return 0, false
	}
	return n, true
}

// takeUnreadable returns the reason an unreadable value gives, once.
func (f *facts) takeUnreadable() (string, bool) {
	if f.unreadable == "" {
		return "", false
	}
	key := f.unreadable
	f.unreadable = ""
	return "unreadable: " + key + " is not a number within reason", true
}

// whyNoConfig says why a CONFIG parameter is unknown.
func (f *facts) whyNoConfig() string {
	if why, ok := f.takeUnreadable(); ok {
		return why
	}
	if f.configErr != nil {
		return reason("CONFIG", f.configErr)
	}
	return "not reported by CONFIG GET"
}

// whyNoInfo says why an INFO field is unknown.
func (f *facts) whyNoInfo() string {
	if why, ok := f.takeUnreadable(); ok {
		return why
	}
	if f.infoErr != nil {
		return reason("INFO", f.infoErr)
	}
	return "not reported by INFO"
}

// whyNeither says why a value known to CONFIG and INFO is unknown to both.
func (f *facts) whyNeither() string {
	if why, ok := f.takeUnreadable(); ok {
		return why
	}
	c, i := f.whyNoConfig(), f.whyNoInfo()
	if c == i {
		return c
	}
	return reasons(c, i)
}

// version returns the server's product and version: ("redis", "7.0.15"),
// ("valkey", "8.0.1").
func (f *facts) version() (product, version string, ok bool) {
	if v, ok := f.info["valkey_version"]; ok {
		return "valkey", v, true
	}
	if v, ok := f.info["redis_version"]; ok {
		return "redis", v, true
	}
	if v, ok := f.hello["version"]; ok {
		product := f.hello["server"]
		if product == "" {
			product = "redis"
		}
		return product, v, true
	}
	return "", "", false
}

// serverRole returns "master" or "slave", from INFO or HELLO.
func (f *facts) serverRole() (string, bool) {
	if v, ok := f.info["role"]; ok {
		return v, true
	}
	v, ok := f.hello["role"]
	return v, ok
}

// authRequired reports whether a connection must authenticate before it
// may run commands, and whether that is known.
func (f *facts) authRequired() (required, known bool) {
	if f.withoutPwd.err == nil {
		return !f.withoutPwd.accepted, true
	}
	if f.defaultUserErr == nil {
		return !defaultUserOpen(f.defaultUser), true
	}
	return false, false
}

// defaultUserOpen reports whether the default user, with these ACL flags,
// lets in any connection without a password.
func defaultUserOpen(flags []string) bool {
	on, nopass := false, false
	for _, flag := range flags {
		switch flag {
		case "on":
			on = true
		case "nopass":
			nopass = true
		}
	}
	return on && nopass
}

// isLoopbackHost reports whether host (an IP address or a name) is this
// machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// errNoOptions is why the checks that need the client's options cannot run.
var errNoOptions = errors.New("the client does not expose its options (pass a go-redis client or a *redisguard.Client)")
