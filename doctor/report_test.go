package doctor_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/redisguard/redisguard/doctor"
)

var sample = doctor.Report{
	Role: doctor.RoleCache,
	Checks: []doctor.Check{
		{ID: doctor.IDAuth, Status: doctor.Fail, Detail: "a connection without credentials is accepted", Advice: "set requirepass"},
		{ID: doctor.IDMaxmemory, Status: doctor.Pass, Detail: "maxmemory 64 MiB"},
		{ID: doctor.IDLatency, Status: doctor.Skip, Detail: "CONFIG not permitted"},
	},
}

func TestJSONShape(t *testing.T) {
	b, err := json.Marshal(sample)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Checks []map[string]any `json:"checks"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if len(generic.Checks) != 3 {
		t.Fatalf("%d checks in %s", len(generic.Checks), b)
	}
	for _, c := range generic.Checks {
		for _, field := range []string{"id", "status", "detail"} {
			if _, ok := c[field].(string); !ok {
				t.Errorf("check %v has no string %q", c, field)
			}
		}
		switch c["status"] {
		case "pass", "warn", "fail", "skip":
		default:
			t.Errorf("status %v", c["status"])
		}
	}
	if strings.Contains(string(b), `"error"`) || strings.Contains(string(b), `"node"`) {
		t.Errorf("%s has an error or node field it should not", b)
	}
	var back doctor.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sample) {
		t.Errorf("round trip: %+v, want %+v", back, sample)
	}
}

func TestJSONOfAnAuditThatCouldNotRun(t *testing.T) {
	r := doctor.Report{Role: doctor.RoleCache, Err: fmt.Errorf("%w: connection refused", doctor.ErrUnreachable)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role":"cache","checks":[],"error":"doctor: the server did not answer: connection refused"}`
	if string(b) != want {
		t.Errorf("%s, want %s", b, want)
	}
}

func TestTableHasOneLinePerCheck(t *testing.T) {
	var b strings.Builder
	if err := sample.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// header, three checks, a blank line, the summary
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, prefix := range []string{"STATUS", "FAIL", "PASS", "SKIP"} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d %q does not start with %s", i, lines[i], prefix)
		}
	}
	if !strings.Contains(lines[1], "auth") || !strings.HasSuffix(lines[1], "set requirepass") {
		t.Errorf("line %q lacks the check or its advice", lines[1])
	}
	if want := "3 checks, role cache: 1 pass, 0 warn, 1 fail, 1 skip"; lines[5] != want {
		t.Errorf("summary %q, want %q", lines[5], want)
	}
}

func TestExitCode(t *testing.T) {
	passing := doctor.Report{Checks: []doctor.Check{{ID: "x", Status: doctor.Warn}}}
	for _, tc := range []struct {
		r    doctor.Report
		want int
	}{
		{passing, 0},
		{sample, 1},
		{doctor.Report{Checks: sample.Checks, Err: doctor.ErrUnreachable}, 2},
	} {
		if got := tc.r.ExitCode(); got != tc.want {
			t.Errorf("ExitCode() = %d, want %d for %+v", got, tc.want, tc.r)
		}
	}
}

func TestErrorsIs(t *testing.T) {
	if !errors.Is(fmt.Errorf("%w", doctor.ErrAuthentication), doctor.ErrAuthentication) {
		t.Fatal("errors.Is")
	}
}
