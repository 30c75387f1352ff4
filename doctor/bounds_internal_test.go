package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A hostile server's values cannot flood or drive the terminal: cells are
// cut, control characters escaped, the table bounded.
func TestTableIsBoundedAndEscaped(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 50<<20)
	r := Report{Role: RoleCache, Checks: []Check{
		{ID: IDMaxmemory, Status: Pass, Detail: "\x1b[2K\x1b[1A\x1b[32mPASS  fake-row\x1b[0m \u202e\xff", Advice: "\x07bell"},
		{ID: IDHitRate, Status: Warn, Detail: huge, Advice: huge},
	}}
	r = redactReport(r, nil)
	var out bytes.Buffer
	if err := r.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if out.Len() > 1<<20 {
		t.Fatalf("%d bytes of table", out.Len())
	}
	for _, b := range out.Bytes() {
		if b < 0x20 && b != '\n' || b == 0x7f {
			t.Fatalf("a raw control character %#x in %q", b, out.String())
		}
	}
	if strings.Contains(out.String(), "\u202e") || !strings.Contains(out.String(), `\x1b[32mPASS`) || !strings.Contains(out.String(), "…") {
		t.Fatalf("the table: %q", out.String())
	}
	if j, _ := json.Marshal(r); len(j) > 1<<20 {
		t.Fatalf("%d bytes of JSON", len(j))
	}
}

// An audit that skipped most of its checks audited nothing: exit 2.
func TestMostlySkippedCouldNotAudit(t *testing.T) {
	t.Parallel()
	r := Report{Checks: []Check{{ID: "a", Status: Pass}, {ID: "b", Status: Skip}, {ID: "c", Status: Skip}}}
	if r.ExitCode() != 2 {
		t.Fatalf("exit %d with 2 of 3 skipped, want 2", r.ExitCode())
	}
	var out bytes.Buffer
	if err := r.WriteTable(&out); err != nil || !strings.Contains(out.String(), "could not audit") {
		t.Fatalf("%q, %v", out.String(), err)
	}
	r.Checks[1].Status = Pass
	if r.ExitCode() != 0 {
		t.Fatalf("exit %d with 1 of 3 skipped, want 0", r.ExitCode())
	}
}

// A value that is not a number, not finite or absurd is never judged: the
// check is skipped as unreadable.
func TestUnreadableValuesAreSkipped(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"NaN", "+Inf", "-inf", "1e300", "12abc"} {
		f := &facts{role: RoleCache, info: map[string]string{"used_memory": v, "maxmemory": "1000"}, config: map[string]string{"maxmemory": "1000"}}
		c := check(t, IDMemoryUsage, f)
		if c.Status != Skip || !strings.Contains(c.Detail, "unreadable") {
			t.Fatalf("used_memory %s: %s %q, want skip: unreadable", v, c.Status, c.Detail)
		}
	}
	f := &facts{role: RoleCache, info: map[string]string{"used_memory": "500", "maxmemory": "1000"}, config: map[string]string{"maxmemory": "1000"}}
	if c := check(t, IDMemoryUsage, f); c.Status == Skip {
		t.Fatalf("a readable value: %s %q", c.Status, c.Detail)
	}
}
