// Package doctor audits a live Redis against the production checklist: for
// each item a client can check, it says whether the server passes, deserves a
// look (warn) or must be fixed before production (fail), and what to do.
//
//	report := doctor.Run(ctx, rdb, doctor.Options{Role: doctor.RoleCache})
//	report.WriteTable(os.Stdout)   // or json.Marshal(report)
//	os.Exit(report.ExitCode())     // 0 pass, 1 a check failed, 2 could not run (or most checks skipped)
//
// The command github.com/redisguard/redisguard/cmd/redisguard-doctor runs it
// from a shell or a CI job; a service may run it at start-up and log what
// needs attention (see ExampleRun).
//
// # Checks
//
// The IDs are fixed; the role (RoleCache, the default, or RoleStore) changes
// the verdict of maxmemory, eviction-policy, persistence and hit-rate.
//
//	auth                fail: a connection without credentials is accepted, or the default user is on with nopass
//	tls                 warn: plaintext to an address that is not loopback
//	protected-mode      fail: off, no password and listening beyond loopback
//	bind                fail: every interface and no password; warn when only protected mode keeps other hosts out
//	dangerous-commands  fail: FLUSHALL, FLUSHDB or DEBUG available to this user; warn: CONFIG or KEYS
//	maxmemory           cache: fail when 0; store: warn when 0
//	eviction-policy     cache: pass allkeys-lru/lfu, warn volatile-* and allkeys-random, fail noeviction;
//	                    store: pass noeviction, warn volatile-*, fail allkeys-*
//	memory-usage        warn above 85 % of maxmemory (or of the host's memory without one);
//	                    fail above 95 % with noeviction
//	fragmentation       warn above 1.5 with 100 MiB or more held beyond the data, or below 1 (swap)
//	persistence         fail: the last RDB snapshot, AOF write or AOF rewrite failed;
//	                    store: fail with neither RDB nor AOF, warn RDB only or appendfsync no
//	replication         warn: a master with no replica (with or without Sentinel or a cluster),
//	                    or a service talking to a replica; fail: a replica whose link is down
//	maxclients          warn above 90 % of maxclients, or when connections were refused
//	timeout             warn: idle connections never closed and tcp-keepalive 0, or a timeout under 10 s
//	slowlog             warn: the slow log off or above 10 ms, none kept, or an entry of 100 ms or more
//	latency             warn: a latency-monitor event of 100 ms or more; skip when the monitor is off
//	hit-rate            cache: warn below 50 % after 1000 lookups
//	version             warn: a release line past its end of life (Redis before 7.2 except 6.2)
//
// # What it does to the server
//
// Nothing: it is read-only. It sends PING, INFO, CONFIG GET (of named,
// non-secret parameters: never requirepass or masterauth), COMMAND INFO,
// ACL WHOAMI, ACL DRYRUN (which simulates a command without running it),
// ACL GETUSER default (only its flags are kept), PUBSUB NUMSUB, SLOWLOG GET,
// LATENCY LATEST, and HELLO without arguments when INFO is not permitted. It
// never runs CONFIG SET or CONFIG REWRITE and never writes a key. To tell
// whether a connection without credentials is accepted, the auth check opens
// one more connection through the client's own dialer (so TLS and Sentinel's
// choice of master apply), sends PING and closes it.
//
// # Bounds
//
// Each command gets Options.CommandTimeout (1 s) and the whole audit
// Options.Timeout (5 s). Run returns when a bound passes even if the client
// ignores contexts. A server that does not answer PING ends the audit at once
// with ErrUnreachable; one that stops answering halfway ends it too: the
// checks that remain are skipped with the reason, and Report.Err is set.
//
// # Restricted users
//
// A check whose commands the user may not run is skipped, saying so ("CONFIG
// not permitted"). Where INFO mirrors a setting (maxmemory,
// maxmemory-policy, maxclients), it stands in for CONFIG. For
// dangerous-commands, a refused CONFIG counts as CONFIG denied, and a
// command renamed away (rename-command) counts as blocked. An audit that
// skipped more than half its checks audited nothing to speak of: ExitCode
// is 2, and the table says "could not audit".
//
// # Hostile servers
//
// Nothing a server sends is trusted: a value that is not a number, not
// finite or absurd (beyond 10¹⁸) is skipped as unreadable, never judged; a
// detail or advice is cut at 4 KiB, a table cell at 400 bytes and the table
// at 1 MiB, each with an ellipsis; control characters (escape sequences),
// invalid UTF-8 and marks that reorder text are printed as Go escapes; and a
// password is redacted as the server may have quoted it (plain, with Go or
// JSON escapes, percent-encoded).
//
// # Topologies
//
// rdb may be any go-redis client or a *redisguard.Client. A cluster client
// (and a ring) is audited node by node, masters and replicas, and every Check
// carries its Node; a Sentinel failover client is audited on the current
// master, and counts as failover for the replication check.
//
// # Secrets
//
// A password of the client never appears in a Check or in Report.Err: the
// package never puts one there, and Run replaces any the server or a dialer
// quotes back. Slow-log entries are named by their command alone, never by
// their arguments.
package doctor
