package redisguard

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryPullsNoExampleDependency: the library's packages (and the
// doctor's command) import neither the examples' SQL driver nor
// OpenTelemetry, which only tests use, so a program using the library never
// builds them.
func TestLibraryPullsNoExampleDependency(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.Contains(pkg, "/examples/") || strings.Contains(pkg, "/scripts/") {
			continue
		}
		checked++
		for dep := range strings.FieldsSeq(deps) {
			if strings.HasPrefix(dep, "modernc.org/") || strings.HasPrefix(dep, "go.opentelemetry.io/") {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list named %d library packages:\n%s", checked, out)
	}
}
