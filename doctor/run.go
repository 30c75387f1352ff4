package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Run audits the server (or, for a cluster client or a ring, every server)
// behind rdb against the production checklist and returns one Check per
// check and server. It never changes the server: it reads INFO, CONFIG GET
// and the ACLs, and opens one connection without credentials for the auth
// check. It returns within Options.Timeout, even against a paused server.
//
// rdb may be any go-redis client (standalone, Sentinel failover, cluster,
// ring) or a *redisguard.Client. Report.Err is set when the audit could not
// run: bad options, a server that does not answer PING within
// Options.CommandTimeout, refused credentials. A password of the client
// never appears in the report.
func Run(ctx context.Context, rdb redis.UniversalClient, opts Options) Report {
	cfg, err := opts.settings()
	report := Report{Role: cfg.role}
	if err != nil {
		report.Err = err
		return report
	}
	if rdb == nil {
		report.Err = fmt.Errorf("%w: the client is nil", ErrInvalidOptions)
		return report
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	nodes, err := targets(ctx, rdb)
	if err != nil {
		if isTimeout(err) {
			err = fmt.Errorf("no answer within %v", cfg.timeout)
		}
		report.Err = fmt.Errorf("%w: finding the servers: %v", ErrUnreachable, err)
		return report
	}
	var (
		errs    []error
		secrets []string
	)
	for _, t := range nodes {
		if t.options != nil {
			secrets = append(secrets, t.options.Password)
		}
		s := &session{rdb: t.rdb, timeout: cfg.commandTimeout}
		f, err := gather(ctx, s, t, cfg)
		if err != nil {
			if t.name != "" {
				err = fmt.Errorf("%s: %w", t.name, err)
			}
			errs = append(errs, err)
		}
		if f == nil {
			continue // not even PING answered: no check has anything to go on
		}
		for _, check := range evaluate(f) {
			check.Node = t.name
			report.Checks = append(report.Checks, check)
		}
	}
	if err := caller.Err(); err != nil && len(errs) == 0 {
		// The caller's context ended: what could not be learned is skipped.
		errs = append(errs, errCutShort(err))
	}
	if len(errs) > 0 {
		report.Err = errors.Join(errs...)
	}
	return redactReport(report, secrets)
}

// errCutShort is an audit whose context ended before it did.
func errCutShort(cause error) error {
	return fmt.Errorf("doctor: the audit was cut short: %w", cause)
}
