package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	goRedisPath = "github.com/redis/go-redis/v9"
	projectPath = "github.com/redisguard/redisguard"
)

// suiteFiles are the test files of go-redis whose specs run.
var suiteFiles = []string{
	"commands_test.go",
	"pipeline_test.go",
	"tx_test.go",
	"tx_unwatch_test.go",
	"pubsub_test.go",
	"race_test.go",
	"iterator_test.go",
	"redis_test.go",
	"bitmap_commands_test.go",
}

// helperFiles declare what the suite files use and hold no specs: the
// bootstrap, the package-internal accessors (Pool, SetNetConn), the Redis
// Enterprise endpoint helpers and the command recorder.
var helperFiles = []string{
	bootstrapFile,
	"export_test.go",
	"re_endpoints_test.go",
	"command_recorder_test.go",
}

//go:embed testdata/suiteguard_test.go
var glueSource []byte

// goModule is what `go mod download -json` and `go list -m -json` say of a module.
type goModule struct {
	Path    string
	Version string
	Dir     string
	Error   string
}

// goRedisModule returns the go-redis module the project requires, with the
// directory of its source in the module cache (downloading it when needed).
func goRedisModule(ctx context.Context, project string) (goModule, error) {
	var listed goModule
	if err := goJSON(ctx, project, &listed, "list", "-m", "-json", goRedisPath); err != nil {
		return goModule{}, err
	}
	var mod goModule
	if err := goJSON(ctx, project, &mod, "mod", "download", "-json", goRedisPath+"@"+listed.Version); err != nil {
		return goModule{}, err
	}
	if mod.Error != "" {
		return goModule{}, fmt.Errorf("go mod download %s@%s: %s", goRedisPath, listed.Version, mod.Error)
	}
	return mod, nil
}

// goJSON runs the go command in dir and decodes its JSON output into v.
func goJSON(ctx context.Context, dir string, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// goEnv is the environment of every go command the harness runs: no
// workspace, and go.mod and go.sum of the temporary module may be updated.
func goEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
}

// prepareModule lays out in dir a copy of go-redis's module with only the
// selected test files, rewritten so that every client goes through
// newSuiteClient, plus the glue that defines it, and makes the module require
// the project (replaced by its checkout). The suite's test files stay in
// go-redis's own package, so they keep the package-internal helpers they use.
func prepareModule(ctx context.Context, goRedis goModule, project, dir string) (rewritten int, err error) {
	if err := copyTree(goRedis.Dir, dir); err != nil {
		return 0, err
	}
	for _, name := range append(append([]string(nil), suiteFiles...), helperFiles...) {
		n, err := rewriteFile(filepath.Join(goRedis.Dir, name), filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		rewritten += n
	}
	if err := os.WriteFile(filepath.Join(dir, "suiteguard_test.go"), glueSource, 0o644); err != nil {
		return 0, err
	}

	edit := exec.CommandContext(ctx, "go", "mod", "edit",
		"-require="+projectPath+"@v0.0.0",
		"-replace="+projectPath+"="+project)
	edit.Dir = dir
	edit.Env = goEnv()
	if out, err := edit.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go mod edit: %w: %s", err, out)
	}
	// The project's checksums spare the network for what it already uses.
	sums, err := os.ReadFile(filepath.Join(project, "go.sum"))
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "go.sum"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(sums); err != nil {
		f.Close()
		return 0, err
	}
	return rewritten, f.Close()
}

// copyTree copies the module source in src (read-only in the module cache)
// to dst, writable, without the test files of its root package.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Dir(rel) == "." && strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// buildSuite compiles the suite's test binary.
func buildSuite(ctx context.Context, dir, binary string, race bool) error {
	args := []string{"test", "-c", "-o", binary}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building go-redis's suite: %w\n%s", err, out)
	}
	return nil
}
