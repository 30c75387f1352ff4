package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReadProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "progress.jsonl")
	lines := []string{
		`{"event":"suite","description":"go-redis"}`,
		`{"event":"start","spec":"A passes"}`,
		`{"event":"end","spec":"A passes","state":"passed"}`,
		`{"event":"end","spec":"B skipped","state":"skipped"}`,
		`{"event":"start","spec":"C fails"}`,
		`{"event":"end","spec":"C fails","state":"panicked","failure":"boom"}`,
		`{"event":"start","spec":"D crashes"}`,
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	a, err := readProgress(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.crashed != "D crashes" {
		t.Errorf("crashed = %q, want D crashes", a.crashed)
	}
	if a.run.description != "go-redis" {
		t.Errorf("description = %q", a.run.description)
	}
	want := map[string]specResult{
		"A passes":  {outcome: passed},
		"B skipped": {outcome: skipped},
		"C fails":   {outcome: failed, failure: "boom"},
	}
	if len(a.run.specs) != len(want) {
		t.Fatalf("specs = %v, want %v", a.run.specs, want)
	}
	for name, w := range want {
		if got := a.run.specs[name]; got != w {
			t.Errorf("%q = %+v, want %+v", name, got, w)
		}
	}
}

// A later process of a run skips the specs an earlier one ran: its skips must
// not hide their results, and specs with one name fail when one of them does.
func TestMerge(t *testing.T) {
	run := newSuiteRun()
	run.merge(suiteRun{description: "go-redis", specs: map[string]specResult{
		"ran":     {outcome: passed},
		"crashed": {outcome: failed, failure: "crash"},
	}})
	run.merge(suiteRun{specs: map[string]specResult{
		"ran":     {outcome: skipped},
		"crashed": {outcome: skipped},
		"later":   {outcome: passed},
	}})
	run.add("later", specResult{outcome: failed, failure: "twin failed"})

	for name, want := range map[string]outcome{"ran": passed, "crashed": failed, "later": failed} {
		if got := run.specs[name].outcome; got != want {
			t.Errorf("%q: outcome %v, want %v", name, got, want)
		}
	}
	if run.description != "go-redis" {
		t.Errorf("description = %q", run.description)
	}
}

func TestCrashReason(t *testing.T) {
	output := "•••\x1b[1mpanic: \x1b[38;5;9mYour Test Panicked\x1b[0m\n\t\x1b[38;5;246mExpect(err).NotTo(HaveOccurred())\x1b[0m\n\t/tmp/x/redis_test.go:350\n\tmore\n"
	want := "panic: Your Test Panicked Expect(err).NotTo(HaveOccurred()) /tmp/x/redis_test.go:350"
	if got := crashReason(output); got != want {
		t.Errorf("crashReason = %q, want %q", got, want)
	}
	if got := crashReason("exit status 1\n"); !strings.Contains(got, "without a panic message") {
		t.Errorf("crashReason without a panic = %q", got)
	}
}

func TestExactly(t *testing.T) {
	re := regexp.MustCompile(exactly("go-redis", []string{"A (b) c", "d.e"}))
	for text, want := range map[string]bool{
		"go-redis A (b) c":   true,
		"go-redis d.e":       true,
		"go-redis dxe":       false,
		"go-redis X A (b) c": false,
		"go-redis A (b) c x": false,
	} {
		if got := re.MatchString(text); got != want {
			t.Errorf("%q matched %v, want %v", text, got, want)
		}
	}
}

func TestRaceReports(t *testing.T) {
	output := "ok\n==================\nWARNING: DATA RACE\nRead at 0x1 by goroutine 7:\n  github.com/redis/go-redis/v9.(*Client).Ping()\n==================\n" +
		"==================\nWARNING: DATA RACE\nWrite at 0x2 by goroutine 9:\n  github.com/redisguard/redisguard.(*Client).admit()\n==================\n" +
		"--- FAIL: TestGinkgoSuite\n    testing.go: race detected during execution of test\n"
	races, inGuard := raceReports(output)
	if races != 2 || inGuard != 1 {
		t.Errorf("raceReports = %d, %d; want 2, 1", races, inGuard)
	}
}
