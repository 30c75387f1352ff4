package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/redisguard/redisguard/doctor"
	"github.com/redisguard/redisguard/internal/redact"
)

// exitCannotRun is the status when the audit could not run.
const exitCannotRun = 2

// run is the whole command: it parses args, audits, prints the report to
// stdout and problems to stderr, and returns the exit status. Everything it
// prints is redacted with the passwords it was given.
func run(args []string, stdout, stderr io.Writer) int {
	inv, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errFlags):
		return exitCannotRun // the flag package has said why
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitCannotRun
	}
	rdb, display, secrets, err := newClient(inv.conn)
	if err != nil {
		fmt.Fprintln(stderr, redact.Text(fmt.Sprintf("%s: %s", name, err), secrets...))
		return exitCannotRun
	}
	report := doctor.Run(context.Background(), rdb, inv.opts)
	_ = rdb.Close()

	out, err := render(report, inv.asJSON)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitCannotRun
	}
	if _, err := io.WriteString(stdout, redact.Text(out, secrets...)); err != nil {
		return exitCannotRun
	}
	if report.Err != nil {
		msg := fmt.Sprintf("%s: cannot audit %s: %v", name, display, report.Err)
		if len(report.Checks) > 0 {
			msg = fmt.Sprintf("%s: the audit of %s is incomplete: %v", name, display, report.Err)
		}
		fmt.Fprintln(stderr, redact.Text(msg, secrets...))
	}
	return report.ExitCode()
}

// render returns the report as JSON, or as the table when it has checks.
func render(report doctor.Report, asJSON bool) (string, error) {
	var out bytes.Buffer
	switch {
	case asJSON:
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return "", err
		}
		out.Write(b)
		out.WriteByte('\n')
	case len(report.Checks) > 0:
		if err := report.WriteTable(&out); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}
