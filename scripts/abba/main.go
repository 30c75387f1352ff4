// Command abba compares two variants of the same benchmarks side by side on a
// noisy machine. It builds a package's test binary once, then runs the
// benchmarks of variant A and of variant B in separate processes, in the
// order A B B A, round after round. Each A run is paired with the B run next
// to it, so that both saw the machine in about the same state, and what is
// reported for each benchmark is the median over the pairs of B's throughput
// relative to A's (A's ns/op over B's), with the spread of those ratios.
//
// The benchmark pattern holds {} where the variant goes:
//
//	go run ./scripts/abba -bench 'BenchmarkGet/.*/client={}$' -a plain -b guarded -rounds 10
//
// Every run's output is appended to -out, in the format benchstat reads
// (benchstat -col /client FILE compares the variants as well). The tests of
// the package run with REDISGUARD_REQUIRE_REDIS=1: a benchmark that needs
// redis-server fails rather than skips when it is missing.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

// config is what the command line asks for.
type config struct {
	pkg       string
	bench     string
	a, b      string
	rounds    int
	benchtime string
	cpu       string
	out       string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.pkg, "pkg", ".", "the package whose benchmarks run")
	flag.StringVar(&cfg.bench, "bench", "", "the -test.bench pattern, with {} where the variant goes (required)")
	flag.StringVar(&cfg.a, "a", "", "variant A, the base (required)")
	flag.StringVar(&cfg.b, "b", "", "variant B, compared with A (required)")
	flag.IntVar(&cfg.rounds, "rounds", 10, "rounds of A B B A; each gives two pairs")
	flag.StringVar(&cfg.benchtime, "benchtime", "1s", "-test.benchtime of each run")
	flag.StringVar(&cfg.cpu, "cpu", "", "-test.cpu of each run (default: the test binary's)")
	flag.StringVar(&cfg.out, "out", "abba.txt", "file the runs' output is written to")
	flag.Parse()
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "abba: %v\n", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "abba: %v\n", err)
		os.Exit(1)
	}
}

func (cfg config) validate() error {
	switch {
	case strings.Count(cfg.bench, "{}") != 1:
		return errors.New("-bench must hold {} once, where the variant goes")
	case cfg.a == "" || cfg.b == "":
		return errors.New("-a and -b are required")
	case cfg.a == cfg.b:
		return errors.New("-a and -b must differ")
	case cfg.rounds < 1:
		return fmt.Errorf("-rounds %d: want at least 1", cfg.rounds)
	case cfg.out == "":
		return errors.New("-out must name a file")
	}
	return nil
}

func run(ctx context.Context, cfg config, summary io.Writer) error {
	dir, err := os.MkdirTemp("", "abba")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, cfg.pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the test binary of %s: %w", cfg.pkg, err)
	}
	out, err := os.Create(cfg.out)
	if err != nil {
		return err
	}
	defer out.Close()

	fmt.Fprintf(summary, "load average before: %s\n", loadAverage())
	started := time.Now()
	var results []result
	for round := range cfg.rounds {
		for i, variant := range []string{cfg.a, cfg.b, cfg.b, cfg.a} {
			stdout, err := runOnce(ctx, cfg, bin, variant)
			if _, werr := out.Write(stdout); werr != nil {
				return werr
			}
			if err != nil {
				return fmt.Errorf("round %d, run %d (%s): %w", round+1, i+1, variant, err)
			}
			parsed, err := parse(stdout, variant)
			if err != nil {
				return fmt.Errorf("round %d, run %d (%s): %w", round+1, i+1, variant, err)
			}
			for _, r := range parsed {
				r.run = round*4 + i
				results = append(results, r)
			}
		}
	}
	fmt.Fprintf(summary, "load average after: %s; %d rounds in %v\n\n", loadAverage(), cfg.rounds, time.Since(started).Round(time.Second))
	return report(summary, cfg, compare(results, cfg.a, cfg.b))
}

// runOnce runs the benchmarks of one variant in a process of their own and
// returns what they printed on the standard output. What go-redis logs goes to
// the standard error, which is passed on, so that it cannot split a result
// line.
func runOnce(ctx context.Context, cfg config, bin, variant string) ([]byte, error) {
	args := []string{
		"-test.run", "^$",
		"-test.bench", strings.Replace(cfg.bench, "{}", variant, 1),
		"-test.benchmem",
		"-test.benchtime", cfg.benchtime,
	}
	if cfg.cpu != "" {
		args = append(args, "-test.cpu", cfg.cpu)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = cfg.pkg
	cmd.Env = append(os.Environ(), "REDISGUARD_REQUIRE_REDIS=1")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	err := cmd.Run()
	return stdout.Bytes(), err
}

// loadAverage returns the machine's 1, 5 and 15 minute load averages, or "?"
// where the system does not say.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return "?"
	}
	return strings.Join(fields[:3], " ")
}
