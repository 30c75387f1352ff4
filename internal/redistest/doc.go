// Package redistest runs real redis-server processes and a fault-injecting
// TCP proxy for the tests of the redisguard client.
//
// StartServer gives a test its own redis-server that it can kill, pause
// (SIGSTOP) and restart on the same port, so client behaviour is checked
// against the real server and real kernel TCP behaviour rather than a mock.
// NewProxy sits between a client and a server and injects network faults:
// latency, a silent blackhole, connection resets right after a request
// reached the server, refused connects and dropped connections.
// StartTLSServer adds a TLS port whose certificate a CA made for the test
// (NewCA) signed, for clients that verify it through CA.Pool or a PEM file.
//
// # Deployments
//
// StartCluster creates a real Redis Cluster: masters with replicas, one
// redis-server per node, joined with redis-cli --cluster create, and
// returns once every node agrees on the slot map and every replica has
// synced. Its nodes are Servers, so a test kills, pauses or restarts one
// like any server; a restarted node keeps its nodes.conf and rejoins. The
// Cluster answers by asking the nodes, every time: which master serves a
// key (MasterOf), the masters, the replicas of each, keys on every shard
// (KeysOnEveryShard). Its waits say when the cluster has reacted to a
// fault: WaitFailover (a dead master's slots are served by its successor,
// and every node says so), WaitState (cluster_state) and WaitSettled (the
// cluster is whole again, for the next fault to start from a known state).
//
// StartSentinelGroup starts a Sentinel deployment: a master, its replicas
// and several Sentinels that know each other and every replica. Master
// asks the Sentinels which server is the master now; WaitSwitch waits for
// a failover to have been carried through; Demote and RestartAsReplica do
// at once what the Sentinels would do to an old master 10 to 20 s later.
// StartSentinel starts a single Sentinel for a server of the test's own.
//
// A typical fault test on a cluster:
//
//	c := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
//	keys := c.KeysOnEveryShard(4)
//	victim := c.Masters()[0]
//	plain := redistest.StartLoad(t, c.Client(t), redistest.LoadConfig{Keys: keys.All()})
//	guarded := redistest.StartLoad(t, guardedClient, redistest.LoadConfig{Keys: keys.All()})
//	killed := time.Now()
//	victim.Kill()
//	c.WaitFailover(t, victim, 30*time.Second)
//	served := guarded.WaitSuccess(t, killed, 30*time.Second, keys[victim]...)
//	// served.Sub(killed): how soon the victim's keys came back, and
//	// guarded.Outcome(killed, served, keys.Except(victim)...).SuccessRatio():
//	// how the other shards fared meanwhile; the same for plain.
//
// # Load
//
// StartLoad sends GETs and SETs (or any command) on given keys from several
// goroutines through any redis.UniversalClient, and records every command:
// its key, when it started and ended, and its error text. A test runs one
// Load per client at the same time and compares them over the same
// windows: Outcome (successes and errors by text, per key or set of keys),
// Series (per 100 ms), FirstSuccess and WaitSuccess (when a key was served
// again), LongestGap (how long keys went without a success).
//
// BusyCores keeps every core busy for the rest of a test, as a loaded host
// does, for tests that check the client judges the server and not its own
// goroutines' scheduling.
//
// # Ground rules
//
// Everything listens on and dials 127.0.0.1 only, and port 6379 is never
// used, so a developer's own Redis is safe. Every server, proxy, load and
// client made here is torn down by t.Cleanup: no process, goroutine or
// connection outlives the test that created it. Tests are skipped when
// redis-server (or, for a cluster, redis-cli) is not installed, and fail
// instead when REDISGUARD_REQUIRE_REDIS=1 (see RedisServerPath). Waits are
// bounded by the timeouts the test gives; a failure shows what was still
// wrong and the tail of every server's log.
//
// The package relies on Unix signals and is meant for Linux, where it
// additionally makes started servers die with the test binary.
package redistest
