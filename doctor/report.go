package doctor

import (
	"encoding/json"
	"errors"
)

// Status is the verdict of one check.
type Status string

const (
	// Pass: the server does what the production checklist asks.
	Pass Status = "pass"
	// Warn: worth a look; right for some deployments, risky for most.
	Warn Status = "warn"
	// Fail: a risk to the data or to the service; fix it before production.
	Fail Status = "fail"
	// Skip: the check could not run; Detail says why ("CONFIG not
	// permitted", "no answer within 1s").
	Skip Status = "skip"
)

// Check is the outcome of one check on one server.
type Check struct {
	// ID names the check; it never changes between releases (see the
	// ID constants).
	ID string `json:"id"`
	// Status is the verdict.
	Status Status `json:"status"`
	// Detail says what was found, or why the check was skipped.
	Detail string `json:"detail"`
	// Advice says what to do; empty when there is nothing to do.
	Advice string `json:"advice,omitempty"`
	// Node is the address of the server checked, set when the audit covers
	// several (the nodes of a cluster or a ring).
	Node string `json:"node,omitempty"`
}

// Report is the outcome of an audit.
type Report struct {
	// Role is the role the server was judged for.
	Role Role
	// Checks holds one Check per check and server, in a fixed order.
	Checks []Check
	// Err is why the audit could not run, or not to its end: it wraps
	// ErrInvalidOptions, ErrUnreachable or ErrAuthentication. Checks then
	// holds what could be learned before, if anything. A context that
	// ended first gives its error (context.Canceled) instead.
	Err error
}

// Failed reports whether at least one check failed.
func (r Report) Failed() bool {
	return r.Count(Fail) > 0
}

// Count returns how many checks have status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// ExitCode is the exit status of a command that ran the audit: 2 when it
// could not run (Err is set) or skipped most of its checks (a server that
// refuses INFO and CONFIG, say: nothing was audited), 1 when a check failed,
// else 0.
func (r Report) ExitCode() int {
	switch {
	case r.Err != nil, r.mostlySkipped():
		return 2
	case r.Failed():
		return 1
	}
	return 0
}

// mostlySkipped reports whether more than half the checks were skipped.
func (r Report) mostlySkipped() bool {
	return len(r.Checks) > 0 && 2*r.Count(Skip) > len(r.Checks)
}

// reportJSON is the JSON form of a Report.
type reportJSON struct {
	Role   Role    `json:"role,omitempty"`
	Checks []Check `json:"checks"`
	Error  string  `json:"error,omitempty"`
}

// MarshalJSON encodes r as {"role":"cache","checks":[{"id":…,"status":…,
// "detail":…,"advice":…}],"error":…}; "checks" is never null, and "error"
// appears only when the audit could not run.
func (r Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{Role: r.Role, Checks: r.Checks}
	if out.Checks == nil {
		out.Checks = []Check{}
	}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON encodes; an "error" becomes an Err
// that carries its text but no longer matches the package's errors.
func (r *Report) UnmarshalJSON(data []byte) error {
	var in reportJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*r = Report{Role: in.Role, Checks: in.Checks}
	if in.Error != "" {
		r.Err = errors.New(in.Error)
	}
	return nil
}
