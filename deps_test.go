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

// TestTestKitImportsOnlyGoRedis: redisguardtest, and the harness it is built
// on, import nothing but the standard library and go-redis, so that a
// service's tests pull in nothing else.
func TestTestKitImportsOnlyGoRedis(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./redisguardtest", "./internal/redistest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), " ")
		for imp := range strings.FieldsSeq(imports) {
			first, _, _ := strings.Cut(imp, "/")
			switch {
			case !strings.Contains(first, "."): // the standard library
			case imp == "github.com/redis/go-redis/v9", imp == "github.com/redisguard/redisguard/internal/redistest":
			default:
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
