package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/redisguard/redisguard/doctor"
)

const (
	name       = "redisguard-doctor"
	defaultURL = "redis://localhost:6379"
)

// invocation is what the command line asks for.
type invocation struct {
	conn   connection
	opts   doctor.Options
	asJSON bool
}

var (
	// errHelp is a request for the usage text, which is not a failure.
	errHelp = errors.New("help requested")
	// errFlags is a flag the flag package refused, saying why.
	errFlags = errors.New("bad flags")
)

// parseArgs reads the flags and the URL. Flag errors are printed by the
// flag package; the others are returned.
func parseArgs(args []string, stderr io.Writer) (invocation, error) {
	var inv invocation
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", string(doctor.RoleCache), "what the server is for: cache or store")
	fs.BoolVar(&inv.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&inv.conn.passwordFile, "password-file", "", "read the password from `file`")
	fs.StringVar(&inv.conn.tlsCA, "tls-ca", "", "verify the server with the PEM certificates in `file` (turns TLS on)")
	fs.BoolVar(&inv.conn.cluster, "cluster", false, "the URL names a cluster node (more with ?addr=host:port)")
	fs.StringVar(&inv.conn.master, "master", "", "the URL names a Sentinel; audit the master `name`d so")
	fs.DurationVar(&inv.opts.Timeout, "timeout", doctor.DefaultTimeout, "bound on the whole audit")
	fs.DurationVar(&inv.opts.CommandTimeout, "command-timeout", doctor.DefaultCommandTimeout, "bound on each command")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s [flags] [URL]\n\n"+
			"Audits a live Redis against the production checklist. URL defaults to $REDIS_URL,\n"+
			"then %s. Exit status: 0 no check failed, 1 a check failed, 2 the audit could not run.\n\n", name, defaultURL)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return inv, errHelp
		}
		return inv, errFlags
	}
	if fs.NArg() > 1 {
		return inv, fmt.Errorf("one URL at most, got %d arguments", fs.NArg())
	}
	r, err := doctor.ParseRole(*role)
	if err != nil {
		return inv, fmt.Errorf("-role: %q is neither cache nor store", *role)
	}
	inv.opts.Role = r
	switch {
	case inv.opts.Timeout <= 0, inv.opts.CommandTimeout <= 0:
		return inv, errors.New("-timeout and -command-timeout must be positive")
	case inv.opts.CommandTimeout > inv.opts.Timeout:
		return inv, fmt.Errorf("-command-timeout %v exceeds -timeout %v", inv.opts.CommandTimeout, inv.opts.Timeout)
	}
	inv.conn.commandTimeout = inv.opts.CommandTimeout
	inv.conn.raw = fs.Arg(0)
	if inv.conn.raw == "" {
		inv.conn.raw = os.Getenv("REDIS_URL")
	}
	if inv.conn.raw == "" {
		inv.conn.raw = defaultURL
	}
	return inv, nil
}
