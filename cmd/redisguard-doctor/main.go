// Command redisguard-doctor audits a live Redis against the production
// checklist and says, check by check, what passes, what to look at and what
// to fix:
//
//	redisguard-doctor [flags] [URL]
//
// URL is a go-redis URL (redis://, rediss:// for TLS, unix://); without one,
// $REDIS_URL, then redis://localhost:6379. Prefer $REDIS_URL or
// -password-file to a password on the command line, which other users of
// the machine can see.
//
// Flags:
//
//	-role cache|store   what the server is for (default cache)
//	-json               print {"role":…,"checks":[{"id","status","detail","advice"}],"error":…}
//	-password-file F    the password, from a file (a mounted Kubernetes Secret)
//	-tls-ca F           PEM certificates to verify the server with; turns TLS on
//	-cluster            URL names a cluster node; more with ?addr=host:port
//	-master NAME        URL names a Sentinel (more with ?addr=), NAME the master;
//	                    the URL's user and password are the Sentinel's, the
//	                    master's come from ?password= or -password-file
//	-timeout D          bound on the whole audit (default 5s)
//	-command-timeout D  bound on each command (default 1s)
//
// Exit status: 0 when no check failed, 1 when at least one failed, 2 when the
// audit could not run (bad flags or URL, unreachable or paused server, refused
// credentials) or skipped most of its checks (a user that may run neither
// INFO nor CONFIG). No password is ever printed, nor a control character a
// server sent.
//
// The audit is read-only: it never changes the server's configuration and
// never writes a key. See package github.com/redisguard/redisguard/doctor for
// the checks.
package main

import (
	"context"
	"os"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis logs every failed dial; the report says it once, better.
	redis.SetLogger(silent{})
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// silent is a go-redis logger that drops everything.
type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}
