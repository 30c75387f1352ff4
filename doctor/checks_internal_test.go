package doctor

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	errNoPerm  = redis.Error(proto("NOPERM this user has no permissions to run the 'config|get' command"))
	errUnknown = redis.Error(proto("ERR unknown command 'CONFIG', with args beginning with: 'get'"))
)

// proto is a server error reply, as go-redis returns it.
type proto string

func (e proto) Error() string { return string(e) }
func (e proto) RedisError()   {}

// check runs the check id on f.
func check(t *testing.T, id string, f *facts) Check {
	t.Helper()
	for _, c := range evaluate(f) {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return Check{}
}

func TestCheckVerdicts(t *testing.T) {
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6379}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 6379}
	for _, tc := range []struct {
		name   string
		id     string
		facts  facts
		status Status
		detail string // a part of the detail, if not empty
	}{
		// auth
		{"accepted", IDAuth, facts{withoutPwd: unauthenticated{accepted: true}}, Fail, "accepted"},
		{"nopass default user", IDAuth, facts{withoutPwd: unauthenticated{err: errors.New("x")}, defaultUser: []string{"on", "nopass"}}, Fail, "nopass"},
		{"nopass but off", IDAuth, facts{withoutPwd: unauthenticated{refusal: "NOAUTH Authentication required."}, defaultUser: []string{"off", "nopass"}}, Pass, "NOAUTH"},
		{"refused", IDAuth, facts{withoutPwd: unauthenticated{refusal: "NOAUTH Authentication required."}, defaultUserErr: errNoPerm}, Pass, "refused"},
		{"protected mode only", IDAuth, facts{withoutPwd: unauthenticated{refusal: "DENIED Redis is running in protected mode"}, defaultUserErr: errNoPerm}, Warn, "protected mode"},
		{"nothing known", IDAuth, facts{withoutPwd: unauthenticated{err: errNoOptions}, defaultUserErr: errNoPerm}, Skip, "not permitted"},

		// tls
		{"tls", IDTLS, facts{withoutPwd: unauthenticated{tls: true, remote: remote}}, Pass, "TLS"},
		{"plaintext remote", IDTLS, facts{withoutPwd: unauthenticated{remote: remote}}, Warn, "10.0.0.5"},
		{"plaintext loopback", IDTLS, facts{withoutPwd: unauthenticated{remote: loopback}}, Pass, "loopback"},
		{"from options", IDTLS, facts{withoutPwd: unauthenticated{err: errors.New("x")}, options: &redis.Options{Addr: "redis.internal:6379"}}, Warn, "redis.internal"},
		{"unix socket", IDTLS, facts{withoutPwd: unauthenticated{remote: &net.UnixAddr{Name: "/run/redis.sock", Net: "unix"}}}, Pass, "unix"},

		// protected-mode and bind
		{"protected off, open", IDProtectedMode, facts{config: map[string]string{"protected-mode": "no", "bind": "0.0.0.0"}, withoutPwd: unauthenticated{accepted: true}}, Fail, "anyone"},
		{"protected off, password", IDProtectedMode, facts{config: map[string]string{"protected-mode": "no", "bind": "*"}, withoutPwd: unauthenticated{refusal: "NOAUTH"}}, Pass, "authenticate"},
		{"bind everywhere, open", IDBind, facts{config: map[string]string{"bind": "* -::*", "protected-mode": "no"}, withoutPwd: unauthenticated{accepted: true}}, Fail, "every interface"},
		{"bind everywhere, protected", IDBind, facts{config: map[string]string{"bind": "* -::*", "protected-mode": "yes"}, withoutPwd: unauthenticated{accepted: true}}, Warn, "protected mode"},
		{"bind private", IDBind, facts{config: map[string]string{"bind": "10.0.0.5"}}, Pass, "10.0.0.5"},
		{"bind loopback", IDBind, facts{config: map[string]string{"bind": "127.0.0.1 -::1"}}, Pass, "loopback"},

		// maxmemory, by role
		{"cache without maxmemory", IDMaxmemory, facts{role: RoleCache, config: map[string]string{"maxmemory": "0"}}, Fail, "no maxmemory"},
		{"store without maxmemory", IDMaxmemory, facts{role: RoleStore, config: map[string]string{"maxmemory": "0"}}, Warn, "no maxmemory"},
		{"maxmemory from INFO", IDMaxmemory, facts{role: RoleCache, configErr: errNoPerm, info: map[string]string{"maxmemory": "67108864"}}, Pass, "64 MiB"},
		{"maxmemory above the host", IDMaxmemory, facts{role: RoleCache, config: map[string]string{"maxmemory": "2147483648"}, info: map[string]string{"total_system_memory": "1073741824"}}, Warn, "more than"},
		{"maxmemory unknown", IDMaxmemory, facts{configErr: errNoPerm, infoErr: errNoPerm}, Skip, "CONFIG not permitted"},

		// eviction-policy, by role
		{"cache allkeys-lfu", IDEvictionPolicy, facts{role: RoleCache, config: map[string]string{"maxmemory-policy": "allkeys-lfu"}}, Pass, ""},
		{"cache volatile-lru", IDEvictionPolicy, facts{role: RoleCache, config: map[string]string{"maxmemory-policy": "volatile-lru"}}, Warn, "TTL"},
		{"cache noeviction", IDEvictionPolicy, facts{role: RoleCache, config: map[string]string{"maxmemory-policy": "noeviction"}}, Fail, "OOM"},
		{"store noeviction", IDEvictionPolicy, facts{role: RoleStore, config: map[string]string{"maxmemory-policy": "noeviction"}}, Pass, ""},
		{"store allkeys-lru", IDEvictionPolicy, facts{role: RoleStore, config: map[string]string{"maxmemory-policy": "allkeys-lru"}}, Fail, "loses data"},
		{"policy from INFO", IDEvictionPolicy, facts{role: RoleCache, configErr: errNoPerm, info: map[string]string{"maxmemory_policy": "allkeys-lru"}}, Pass, ""},

		// memory-usage and fragmentation
		{"memory high", IDMemoryUsage, facts{config: map[string]string{"maxmemory": "100", "maxmemory-policy": "allkeys-lru"}, info: map[string]string{"used_memory": "90", "evicted_keys": "7"}}, Warn, "7 keys evicted"},
		{"memory full, noeviction", IDMemoryUsage, facts{config: map[string]string{"maxmemory": "100", "maxmemory-policy": "noeviction"}, info: map[string]string{"used_memory": "96"}}, Fail, "OOM"},
		{"memory fine", IDMemoryUsage, facts{config: map[string]string{"maxmemory": "100"}, info: map[string]string{"used_memory": "50"}}, Pass, "50 %"},
		{"host memory high", IDMemoryUsage, facts{config: map[string]string{"maxmemory": "0"}, info: map[string]string{"used_memory": "90", "total_system_memory": "100"}}, Warn, "host"},
		{"fragmented", IDFragmentation, facts{info: map[string]string{"mem_fragmentation_ratio": "2.0", "used_memory_rss": "419430400", "used_memory": "209715200"}}, Warn, "ratio 2.00"},
		{"fragmented but small", IDFragmentation, facts{info: map[string]string{"mem_fragmentation_ratio": "7.9", "used_memory_rss": "7900000", "used_memory": "1000000"}}, Pass, "too little"},
		{"swapped", IDFragmentation, facts{info: map[string]string{"mem_fragmentation_ratio": "0.5", "used_memory_rss": "104857600", "used_memory": "209715200"}}, Warn, "swapped"},

		// persistence, by role
		{"bgsave failed", IDPersistence, facts{role: RoleCache, info: map[string]string{"rdb_last_bgsave_status": "err"}, config: map[string]string{"stop-writes-on-bgsave-error": "yes"}}, Fail, "MISCONF"},
		{"aof write failed", IDPersistence, facts{role: RoleCache, info: map[string]string{"aof_last_write_status": "err"}}, Fail, "AOF"},
		{"cache without persistence", IDPersistence, facts{role: RoleCache, config: map[string]string{"save": "", "appendonly": "no"}}, Pass, "neither"},
		{"store without persistence", IDPersistence, facts{role: RoleStore, config: map[string]string{"save": "", "appendonly": "no"}}, Fail, "loses every key"},
		{"store RDB only", IDPersistence, facts{role: RoleStore, config: map[string]string{"save": "3600 1", "appendonly": "no"}}, Warn, "since the last snapshot"},
		{"store AOF", IDPersistence, facts{role: RoleStore, config: map[string]string{"save": "", "appendonly": "yes", "appendfsync": "everysec"}}, Pass, "everysec"},
		{"store AOF fsync no", IDPersistence, facts{role: RoleStore, config: map[string]string{"save": "", "appendonly": "yes", "appendfsync": "no"}}, Warn, "30 s"},
		{"store, CONFIG denied, AOF on", IDPersistence, facts{role: RoleStore, configErr: errNoPerm, info: map[string]string{"aof_enabled": "1"}}, Pass, "AOF"},

		// replication
		{"lonely master", IDReplication, facts{info: map[string]string{"role": "master", "connected_slaves": "0"}}, Warn, "no replica"},
		{"sentinel, no replica", IDReplication, facts{info: map[string]string{"role": "master", "connected_slaves": "0"}, sentinels: 3}, Warn, "Sentinel has nothing"},
		{"replicas without sentinel", IDReplication, facts{info: map[string]string{"role": "master", "connected_slaves": "2"}}, Pass, "no Sentinel seen"},
		{"link down", IDReplication, facts{info: map[string]string{"role": "slave", "master_link_status": "down"}}, Fail, "down"},
		{"role from HELLO only", IDReplication, facts{infoErr: errNoPerm, hello: map[string]string{"role": "master"}}, Skip, "INFO not permitted"},

		// maxclients, timeout
		{"clients near the limit", IDMaxclients, facts{config: map[string]string{"maxclients": "100"}, info: map[string]string{"connected_clients": "95"}}, Warn, "95 of 100"},
		{"clients refused", IDMaxclients, facts{config: map[string]string{"maxclients": "100"}, info: map[string]string{"connected_clients": "5", "rejected_connections": "3"}}, Warn, "3 refused"},
		{"no timeout, no keepalive", IDTimeout, facts{config: map[string]string{"timeout": "0", "tcp-keepalive": "0"}}, Warn, "never"},
		{"short timeout", IDTimeout, facts{config: map[string]string{"timeout": "2", "tcp-keepalive": "300"}}, Warn, "2s"},
		{"seed's timeout", IDTimeout, facts{config: map[string]string{"timeout": "300", "tcp-keepalive": "300"}}, Pass, "5m0s"},

		// slowlog
		{"slowlog off", IDSlowlog, facts{config: map[string]string{"slowlog-log-slower-than": "-1", "slowlog-max-len": "128"}}, Warn, "off"},
		{"slowlog logs everything", IDSlowlog, facts{config: map[string]string{"slowlog-log-slower-than": "0", "slowlog-max-len": "128"}}, Pass, "every command"},
		{"slowlog lax", IDSlowlog, facts{config: map[string]string{"slowlog-log-slower-than": "50000", "slowlog-max-len": "128"}}, Warn, "50ms"},
		{"slow entry", IDSlowlog, facts{config: map[string]string{"slowlog-log-slower-than": "10000"}, slowlog: []redis.SlowLog{
			{Args: []string{"get", "k"}, Duration: 12 * time.Millisecond},
			{Args: []string{"keys", "user:*"}, Duration: 250 * time.Millisecond},
		}}, Warn, "the slowest KEYS 250ms"},
		{"mild entries", IDSlowlog, facts{config: map[string]string{"slowlog-log-slower-than": "10000"}, slowlog: []redis.SlowLog{{Args: []string{"hgetall", "h"}, Duration: 15 * time.Millisecond}}}, Pass, "HGETALL 15ms"},

		// latency
		{"latency off", IDLatency, facts{config: map[string]string{"latency-monitor-threshold": "0"}}, Skip, "off"},
		{"latency events", IDLatency, facts{config: map[string]string{"latency-monitor-threshold": "100"}, latency: []latencyEvent{{name: "fork", latest: 5 * time.Millisecond, max: 300 * time.Millisecond}, {name: "command", max: 120 * time.Millisecond}}}, Warn, "fork at 300ms"},
		{"latency quiet", IDLatency, facts{config: map[string]string{"latency-monitor-threshold": "100"}}, Pass, "no event"},

		// hit-rate
		{"cache misses", IDHitRate, facts{role: RoleCache, info: map[string]string{"keyspace_hits": "100", "keyspace_misses": "900"}}, Warn, "10 %"},
		{"store misses", IDHitRate, facts{role: RoleStore, info: map[string]string{"keyspace_hits": "100", "keyspace_misses": "900"}}, Pass, "10 %"},
		{"few lookups", IDHitRate, facts{role: RoleCache, info: map[string]string{"keyspace_hits": "1", "keyspace_misses": "9"}}, Pass, "too few"},

		// version
		{"7.0", IDVersion, facts{info: map[string]string{"redis_version": "7.0.15"}}, Warn, "end of life"},
		{"7.2", IDVersion, facts{info: map[string]string{"redis_version": "7.2.4"}}, Pass, "Redis 7.2.4"},
		{"6.2", IDVersion, facts{info: map[string]string{"redis_version": "6.2.14"}}, Pass, ""},
		{"5.0", IDVersion, facts{info: map[string]string{"redis_version": "5.0.7"}}, Warn, ""},
		{"8.2", IDVersion, facts{info: map[string]string{"redis_version": "8.2.1"}}, Pass, ""},
		{"valkey", IDVersion, facts{info: map[string]string{"redis_version": "7.2.4", "valkey_version": "8.0.1", "server_name": "valkey"}}, Pass, "Valkey 8.0.1"},
		{"from HELLO", IDVersion, facts{infoErr: errNoPerm, hello: map[string]string{"server": "redis", "version": "6.0.9"}}, Warn, "Redis 6.0.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.facts
			if f.role == "" {
				f.role = RoleCache
			}
			if f.withoutPwd == (unauthenticated{}) && tc.id != IDAuth {
				f.withoutPwd = unauthenticated{refusal: "NOAUTH Authentication required."}
			}
			c := check(t, tc.id, &f)
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("%s: %s %q, want %s with %q", tc.id, c.Status, c.Detail, tc.status, tc.detail)
			}
			if (c.Status == Warn || c.Status == Fail) && c.Advice == "" {
				t.Errorf("%s: %s without advice", tc.id, c.Status)
			}
		})
	}
}

func TestDangerousCommands(t *testing.T) {
	allOK := map[string]string{"FLUSHALL": "OK", "FLUSHDB": "OK", "CONFIG": "OK", "DEBUG": "OK", "KEYS": "OK"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for key, val := range m {
			out[key] = val
		}
		out[k] = v
		return out
	}
	debugOff := map[string]string{"enable-debug-command": "no"}
	for _, tc := range []struct {
		name   string
		facts  facts
		status Status
		detail []string
	}{
		{"everything allowed", facts{dryrun: allOK, config: map[string]string{"enable-debug-command": "yes"}}, Fail, []string{"may run FLUSHALL, FLUSHDB, CONFIG, DEBUG, KEYS"}},
		{"only CONFIG and KEYS", facts{dryrun: with(with(allOK, "FLUSHALL", "Command 'flushall' not found"), "FLUSHDB", "This user has no permissions to run the 'flushdb' command"), config: debugOff},
			Warn, []string{"may run CONFIG, KEYS", "FLUSHALL (renamed away)", "FLUSHDB (denied by ACL)", "DEBUG (enable-debug-command no)"}},
		{"all blocked", facts{present: map[string]bool{"FLUSHALL": false, "FLUSHDB": false, "CONFIG": false, "DEBUG": false, "KEYS": false}, configErr: errUnknown}, Pass, []string{"blocked"}},
		{"no ACL DRYRUN, CONFIG denied", facts{dryrunErr: errNoPerm, configErr: errNoPerm, present: map[string]bool{"FLUSHALL": true, "FLUSHDB": true, "CONFIG": true, "DEBUG": true, "KEYS": true}},
			Warn, []string{"CONFIG (CONFIG not permitted)", "unknown (ACL DRYRUN not permitted): FLUSHALL"}},
		{"nothing known", facts{dryrunErr: errNoPerm, presentErr: errNoPerm, configErr: &noAnswerError{command: "CONFIG GET", after: time.Second}}, Skip, []string{"ACL DRYRUN not permitted", "COMMAND INFO not permitted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.facts
			c := checkDangerousCommands(&f)
			if c.Status != tc.status {
				t.Errorf("%s %q, want %s", c.Status, c.Detail, tc.status)
			}
			for _, d := range tc.detail {
				if !strings.Contains(c.Detail, d) {
					t.Errorf("detail %q lacks %q", c.Detail, d)
				}
			}
		})
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errNoPerm, "CONFIG not permitted"},
		{errUnknown, "CONFIG renamed or disabled"},
		{proto("ERR unknown subcommand 'DRYRUN'. Try ACL HELP."), "CONFIG not supported by this server"},
		{&noAnswerError{command: "INFO", after: time.Second}, "no answer to INFO within 1s"},
		{proto("LOADING Redis is loading the dataset in memory"), "CONFIG: LOADING Redis is loading the dataset in memory"},
	} {
		if got := reason("CONFIG", tc.err); got != tc.want {
			t.Errorf("reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestBytesText(t *testing.T) {
	for n, want := range map[float64]string{
		0: "0 B", 512: "512 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 944 * 1024: "944 KiB", 23.5 * (1 << 30): "23.5 GiB",
	} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%v) = %q, want %q", n, got, want)
		}
	}
}
