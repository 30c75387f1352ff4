package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	// exitCannotRun is the status when the audit could not run.
	exitCannotRun = 2
)

// run is the whole command: it parses args, audits, prints the report to
// stdout and problems to stderr, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		asJSON = fs.Bool("json", false, "print the report as JSON")
		role   = fs.String("role", string(doctor.RoleCache), "what the server is for: cache or store")
		conn   connection
		opts   doctor.Options
	)
	fs.StringVar(&conn.passwordFile, "password-file", "", "read the password from `file`")
	fs.StringVar(&conn.tlsCA, "tls-ca", "", "verify the server with the PEM certificates in `file` (turns TLS on)")
	fs.BoolVar(&conn.cluster, "cluster", false, "the URL names a cluster node (more with ?addr=host:port)")
	fs.StringVar(&conn.master, "master", "", "the URL names a Sentinel; audit the master `name`d so")
	fs.DurationVar(&opts.Timeout, "timeout", doctor.DefaultTimeout, "bound on the whole audit")
	fs.DurationVar(&opts.CommandTimeout, "command-timeout", doctor.DefaultCommandTimeout, "bound on each command")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s [flags] [URL]\n\nAudits a live Redis against the production checklist. URL defaults to $REDIS_URL,\nthen %s. Exit status: 0 all checks pass or warn, 1 a check failed, 2 the audit could not run.\n\n", name, defaultURL)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitCannotRun
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "%s: one URL at most, got %d arguments\n", name, fs.NArg())
		return exitCannotRun
	}
	conn.raw = fs.Arg(0)
	if conn.raw == "" {
		conn.raw = os.Getenv("REDIS_URL")
	}
	if conn.raw == "" {
		conn.raw = defaultURL
	}
	r, err := doctor.ParseRole(*role)
	if err != nil {
		fmt.Fprintf(stderr, "%s: -role: %q is neither cache nor store\n", name, *role)
		return exitCannotRun
	}
	opts.Role = r
	switch {
	case opts.Timeout <= 0, opts.CommandTimeout <= 0:
		fmt.Fprintf(stderr, "%s: -timeout and -command-timeout must be positive\n", name)
		return exitCannotRun
	case opts.CommandTimeout > opts.Timeout:
		fmt.Fprintf(stderr, "%s: -command-timeout %v exceeds -timeout %v\n", name, opts.CommandTimeout, opts.Timeout)
		return exitCannotRun
	}
	conn.commandTimeout = opts.CommandTimeout

	rdb, display, secrets, err := newClient(conn)
	if err != nil {
		fmt.Fprintln(stderr, doctor.Redact(fmt.Sprintf("%s: %s", name, err), secrets...))
		return exitCannotRun
	}
	report := doctor.Run(context.Background(), rdb, opts)
	_ = rdb.Close()

	var out bytes.Buffer
	if *asJSON {
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitCannotRun
		}
		out.Write(append(b, '\n'))
	} else if len(report.Checks) > 0 {
		if err := report.WriteTable(&out); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitCannotRun
		}
	}
	if _, err := io.WriteString(stdout, doctor.Redact(out.String(), secrets...)); err != nil {
		return exitCannotRun
	}
	if report.Err != nil {
		msg := fmt.Sprintf("%s: cannot audit %s: %v", name, display, report.Err)
		if len(report.Checks) > 0 {
			msg = fmt.Sprintf("%s: the audit of %s is incomplete: %v", name, display, report.Err)
		}
		fmt.Fprintln(stderr, doctor.Redact(msg, secrets...))
	}
	return report.ExitCode()
}
