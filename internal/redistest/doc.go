// Package redistest runs real redis-server processes and a fault-injecting
// TCP proxy for the tests of the redisguard client.
//
// StartServer gives a test its own redis-server that it can kill, pause
// (SIGSTOP) and restart on the same port, so client behaviour is checked
// against the real server and real kernel TCP behaviour rather than a mock.
// NewProxy sits between a client and a server and injects network faults:
// latency, a silent blackhole, connection resets right after a request
// reached the server, refused connects and dropped connections.
//
// Everything listens on and dials 127.0.0.1 only, and port 6379 is never
// used, so a developer's own Redis is safe. Every server, proxy and client
// made here is torn down by t.Cleanup: no process, goroutine or connection
// outlives the test that created it. Tests are skipped when redis-server is
// not installed (see RedisServerPath).
//
// The package relies on Unix signals and is meant for Linux, where it
// additionally makes started servers die with the test binary.
package redistest
