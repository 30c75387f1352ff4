package doctor

import (
	"fmt"
	"strings"
)

const persistenceAdvice = "read the server's log: usually a full disk, or a fork that failed for lack of memory (vm.overcommit_memory = 1)"

// checkPersistence fails when the last snapshot or AOF write failed, and
// judges what is configured by the role: a store needs AOF, a cache may
// keep nothing.
func checkPersistence(f *facts) Check {
	if f.info == nil && f.config == nil {
		return skip(IDPersistence, f.whyNeither())
	}
	if f.info["rdb_last_bgsave_status"] == "err" {
		detail := "the last RDB snapshot failed"
		if f.config["stop-writes-on-bgsave-error"] == "yes" {
			detail += ", and writes are refused (MISCONF) until one succeeds"
		}
		return fail(IDPersistence, detail, persistenceAdvice)
	}
	if f.info["aof_last_write_status"] == "err" {
		return fail(IDPersistence, "the last write to the AOF failed", persistenceAdvice)
	}
	if f.info["aof_last_bgrewrite_status"] == "err" {
		return fail(IDPersistence, "the last AOF rewrite failed", persistenceAdvice)
	}

	aof := f.config["appendonly"] == "yes" || f.info["aof_enabled"] == "1"
	save, saveKnown := f.config["save"]
	rdb := saveKnown && strings.TrimSpace(save) != ""
	var parts []string
	if aof {
		parts = append(parts, "AOF")
		if fsync, ok := f.config["appendfsync"]; ok {
			parts[0] += " (appendfsync " + fsync + ")"
		}
	}
	if rdb {
		parts = append(parts, "RDB (save "+save+")")
	}
	what := strings.Join(parts, " and ")

	if f.role == RoleCache {
		switch {
		case what != "":
			return pass(IDPersistence, what+": the cache restarts warm")
		case saveKnown:
			return pass(IDPersistence, "neither RDB nor AOF: a restart empties the cache, and the loader refills it")
		}
		return pass(IDPersistence, "AOF off; RDB unknown ("+f.whyNoConfig()+"): a cache may keep nothing")
	}
	switch {
	case aof && f.config["appendfsync"] == "no":
		return warn(IDPersistence, what+": a crash loses what the kernel had not yet written, up to about 30 s", "appendfsync everysec")
	case aof:
		return pass(IDPersistence, what)
	case rdb:
		return warn(IDPersistence, what+" only: a crash loses the writes since the last snapshot", "appendonly yes (appendfsync everysec), keeping RDB snapshots for backups")
	case saveKnown:
		return fail(IDPersistence, "neither RDB nor AOF: a restart loses every key", "appendonly yes (appendfsync everysec), and save for snapshots to back up")
	}
	return warn(IDPersistence, "AOF off; RDB unknown ("+f.whyNoConfig()+")", "appendonly yes (appendfsync everysec)")
}

// checkReplication warns about a master nothing can replace.
func checkReplication(f *facts) Check {
	role, ok := f.serverRole()
	if !ok {
		return skip(IDReplication, f.whyNoInfo())
	}
	if role == "slave" {
		if f.info["master_link_status"] == "down" {
			return fail(IDReplication, "a replica whose link to its master is down: it serves stale data", "check the master and the network between them")
		}
		if f.topology == cluster || f.topology == ring {
			return pass(IDReplication, "a replica, its link to the master up")
		}
		return warn(IDReplication, "this server is a replica: writes fail with READONLY", "point the service at the master, or at Sentinel (with the master's name) to follow failovers")
	}
	replicas, ok := f.number("connected_slaves")
	if !ok {
		return skip(IDReplication, f.whyNoInfo())
	}
	var manager string
	switch {
	case f.topology == cluster:
		manager = "the cluster"
	case f.topology == sentinel || f.sentinels > 0:
		manager = "Sentinel"
	}
	if replicas == 0 {
		if manager != "" {
			return warn(IDReplication, fmt.Sprintf("a master with no replica: %s has nothing to promote when it fails", manager), "add a replica")
		}
		advice := "add a replica and Sentinel, or run a cluster"
		if f.role == RoleCache {
			advice += "; a cache may accept the outage if its loader can carry the load"
		}
		return warn(IDReplication, "a master with no replica, no Sentinel watching it and no cluster: when it fails, Redis is down until it is back", advice)
	}
	detail := fmt.Sprintf("a master with %.0f replica(s)", replicas)
	switch {
	case manager != "":
		detail += "; " + manager + " fails over"
	case f.sentinelsErr == nil:
		detail += "; no Sentinel seen: failover must come from elsewhere (a managed service, an operator)"
	}
	return pass(IDReplication, detail)
}
