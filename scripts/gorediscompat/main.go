// Command gorediscompat runs go-redis's own ginkgo suite through the guard.
//
// It takes the test files of the go-redis version the project requires from
// the module cache (commands, pipeline, tx, tx_unwatch, pubsub, race, iterator,
// redis and bitmap_commands, with the suite's bootstrap and the helpers they
// need), lays them out in a temporary copy of go-redis's module that requires
// the project through a replace of its checkout, and rewrites every
// redis.NewClient( into newSuiteClient( (testdata/suiteguard_test.go), which
// wraps the client with redisguard.Wrap(client, redisguard.Options{}) and
// returns the same *redis.Client, so every command of the suite passes the
// guard's hook. It then starts a redis-server on a loopback port, runs the
// specs once with plain clients and once guarded (the same binary, the same
// seed, a fresh server on the same port for each run), and compares.
//
// It exits with status 1 when a spec fails guarded that does not also fail
// plain and is not in expected-failures.txt (or, with -race, when the race
// detector reports a race with the project's code on a stack), and 2 when the
// suite could not be run at all. Unexplained failures are run again in both modes once; a
// spec that does not fail guarded-only again is reported as flaky.
//
// Run it from anywhere in the project:
//
//	scripts/gorediscompat/run.sh [-keep] [-race] [-focus REGEXP] [-subject ap-fd]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	expected string
	keep     bool
	race     bool
	focus    string
	seed     int64
	timeout  time.Duration
	subject  string
}

// subjects are the values of go-redis's GOREDIS_TEST_SUBJECT (main_test.go
// newUniversalSubject): the command specs then run through the client's
// auto-pipeliner, blocking or asynchronous, half- or full-duplex.
var subjects = []string{"client", "ap-blocking", "ap-async", "ap-fd-blocking", "ap-fd"}

func main() {
	var o options
	flag.StringVar(&o.expected, "expected", "", "the expected-failures list (default: expected-failures.txt beside this command)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary module, the logs and the records of every spec, and print where")
	flag.BoolVar(&o.race, "race", false, "build the suite with the race detector (several times slower)")
	flag.StringVar(&o.focus, "focus", "", "run only the specs whose full text matches this regular expression")
	flag.Int64Var(&o.seed, "seed", time.Now().Unix(), "ginkgo's randomization seed, the same for both runs")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound of one run of the suite")
	flag.StringVar(&o.subject, "subject", "client", "what the command specs run through: "+strings.Join(subjects, ", ")+
		" (the expected failures are those of client)")
	flag.Parse()
	if !slices.Contains(subjects, o.subject) {
		fmt.Fprintf(os.Stderr, "gorediscompat: -subject %q: use one of %s\n", o.subject, strings.Join(subjects, ", "))
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ok, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gorediscompat:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run runs the comparison and reports whether every guarded failure is
// explained.
func run(ctx context.Context, o options) (bool, error) {
	var project goModule
	if err := goJSON(ctx, ".", &project, "list", "-m", "-json"); err != nil {
		return false, err
	}
	if project.Path != projectPath {
		return false, fmt.Errorf("run from the %s checkout, not from %s", projectPath, project.Path)
	}
	if o.expected == "" {
		o.expected = filepath.Join(project.Dir, "scripts", "gorediscompat", "expected-failures.txt")
	}
	list, err := readExpected(o.expected)
	if err != nil {
		return false, err
	}
	goRedis, err := goRedisModule(ctx, project.Dir)
	if err != nil {
		return false, err
	}
	if list.version != goRedis.Version {
		return false, fmt.Errorf("%s names the specs of go-redis %s, the project requires %s: run with -keep, review the failures and update the list",
			o.expected, list.version, goRedis.Version)
	}
	serverPath, err := exec.LookPath("redis-server")
	if err != nil {
		return false, fmt.Errorf("redis-server is not installed (apt-get install redis-server): %w", err)
	}
	version, err := redisVersion(ctx, serverPath)
	if err != nil {
		return false, err
	}

	tmp, err := os.MkdirTemp("", "gorediscompat-")
	if err != nil {
		return false, err
	}
	if o.keep {
		fmt.Printf("gorediscompat: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	moduleDir := filepath.Join(tmp, "go-redis")
	rewritten, err := prepareModule(ctx, goRedis, project.Dir, moduleDir)
	if err != nil {
		return false, err
	}
	fmt.Printf("gorediscompat: go-redis %s, %d test files, %d redis.NewClient calls rewritten; building\n",
		goRedis.Version, len(suiteFiles), rewritten)
	binary := filepath.Join(tmp, "go-redis-suite.test")
	if err := buildSuite(ctx, moduleDir, binary, o.race); err != nil {
		return false, err
	}
	serverDir := filepath.Join(tmp, "server")
	if err := os.Mkdir(serverDir, 0o755); err != nil {
		return false, err
	}
	srv, err := startServer(ctx, serverPath, serverDir)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	fmt.Printf("gorediscompat: redis-server %s on %s, seed %d\n", version, srv.addr(), o.seed)

	r := runner{binary: binary, moduleDir: moduleDir, logDir: tmp, srv: srv, redisVersion: version, o: o}
	plain, err := r.run(ctx, "plain", o.focus, "plain")
	if err != nil {
		return false, err
	}
	guarded, err := r.run(ctx, "guarded", o.focus, "guarded")
	if err != nil {
		return false, err
	}
	v := compare(plain, guarded, list)
	if v.ran == 0 {
		return false, fmt.Errorf("no spec ran (logs in %s with -keep)", tmp)
	}

	var flaky []string
	if len(v.unexplained) > 0 {
		fmt.Printf("gorediscompat: %d specs failed guarded only; running them again in both modes\n", len(v.unexplained))
		focus := exactly(guarded.description, v.unexplained)
		plainAgain, err := r.run(ctx, "plain", focus, "plain-again")
		if err != nil {
			return false, err
		}
		guardedAgain, err := r.run(ctx, "guarded", focus, "guarded-again")
		if err != nil {
			return false, err
		}
		flaky = v.confirm(plainAgain, guardedAgain)
	}

	printSpecs("failed guarded only, listed", v.listed, guarded, list)
	printSpecs("flaky: failed guarded only once, not on the second run", flaky, guarded, list)
	printSpecs("listed [until-fixed] but passed guarded: remove from the list", v.fixed, guarded, list)
	printSpecs("failed plain, not listed [plain] (the list should say why)", v.unlistedPlain, plain, list)
	printSpecs("UNEXPLAINED: failed guarded only, not listed", v.unexplained, guarded, list)
	if o.race {
		fmt.Printf("gorediscompat: data races reported: plain %d, guarded %d (%d with the project's code on a stack; see guarded-*.log with -keep)\n",
			plain.races, guarded.races, guarded.guardRaces)
	}
	fmt.Printf("gorediscompat: specs run %d; passed plain %d, guarded %d; failed plain %d, guarded %d; guarded only %d listed, %d flaky, %d unexplained\n",
		v.ran, v.passedPlain, v.passedGuarded, v.failedPlain, v.failedGuarded, len(v.listed), len(flaky), len(v.unexplained))
	return len(v.unexplained) == 0 && guarded.guardRaces == 0, nil
}

// runner runs the suite's binary against the server.
type runner struct {
	binary       string
	moduleDir    string
	logDir       string
	srv          *server
	redisVersion string
	o            options
}

// maxCrashes bounds the processes one run may take: after each crash the
// run goes on, without the specs already done, in a new process.
const maxCrashes = 20

// run runs the suite once in mode ("plain" or "guarded"), limited to the
// specs focus matches when it is not empty; tag names its logs. A spec that
// crashes the process counts as failed, and the run goes on in a new process
// with the specs not yet run.
func (r runner) run(ctx context.Context, mode, focus, tag string) (suiteRun, error) {
	start := time.Now()
	result := newSuiteRun()
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s-%d", tag, n)
		a, exitErr, err := r.process(ctx, mode, focus, result, name)
		if err != nil {
			return suiteRun{}, err
		}
		result.merge(a.run)
		if result.setupFailure != "" {
			return suiteRun{}, fmt.Errorf("%s run: the suite's setup failed: %s", tag, result.setupFailure)
		}
		if a.crashed == "" {
			if exitErr != nil && len(a.run.specs) == 0 {
				return suiteRun{}, fmt.Errorf("%s run: %v before any spec ran; see %s.log (keep it with -keep)", tag, exitErr, filepath.Join(r.logDir, name))
			}
			break
		}
		result.specs[a.crashed] = specResult{outcome: failed, failure: "crashed the test process: " + crashReason(a.output)}
		fmt.Printf("gorediscompat: %s run: %q crashed the test process; going on without it\n", tag, a.crashed)
		if n == maxCrashes {
			return suiteRun{}, fmt.Errorf("%s run: %d crashes, giving up", tag, n)
		}
	}
	fmt.Printf("gorediscompat: %s run: %d passed, %d failing, %d skipped, in %v\n",
		tag, result.count(passed), result.count(failed), result.count(skipped), time.Since(start).Round(time.Second))
	return result, nil
}

// process runs one process of the suite's binary on a fresh server (a crashed
// spec leaves the server as it was, a password set, say), skipping the specs
// that earlier processes of the same run ran, and returns what it recorded
// and how it exited.
func (r runner) process(ctx context.Context, mode, focus string, earlier suiteRun, name string) (attempt, error, error) {
	if err := r.srv.restart(ctx); err != nil {
		return attempt{}, nil, err
	}
	progressPath := filepath.Join(r.logDir, name+".jsonl")
	logFile, err := os.Create(filepath.Join(r.logDir, name+".log"))
	if err != nil {
		return attempt{}, nil, err
	}
	defer logFile.Close()

	args := []string{
		"-test.run=^TestGinkgoSuite$",
		"-test.timeout=" + r.o.timeout.String(),
		"-ginkgo.seed=" + strconv.FormatInt(r.o.seed, 10),
		"-ginkgo.no-color",
	}
	if focus != "" {
		args = append(args, "-ginkgo.focus="+focus)
	}
	var done []string
	for spec, result := range earlier.specs {
		if result.outcome != skipped {
			done = append(done, spec)
		}
	}
	if len(done) > 0 {
		args = append(args, "-ginkgo.skip="+exactly(earlier.description, done))
	}
	cmd := exec.CommandContext(ctx, r.binary, args...)
	cmd.Dir = r.moduleDir
	cmd.Env = append(os.Environ(),
		"REDIS_PORT="+strconv.Itoa(r.srv.port),
		"REDIS_VERSION="+r.redisVersion,
		"REDISGUARD_SUITE="+mode,
		"REDISGUARD_SUITE_PROGRESS="+progressPath,
		"GOREDIS_TEST_SUBJECT="+r.o.subject,
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	exitErr := cmd.Run() // non-zero whenever a spec failed
	if ctx.Err() != nil {
		return attempt{}, nil, ctx.Err()
	}
	a, err := readProgress(progressPath)
	if err != nil {
		return attempt{}, nil, fmt.Errorf("%s (exit: %v): %w; see %s (keep it with -keep)", name, exitErr, err, logFile.Name())
	}
	output, err := os.ReadFile(logFile.Name())
	if err != nil {
		return attempt{}, nil, err
	}
	a.run.races, a.run.guardRaces = raceReports(string(output))
	a.output = string(output)
	return a, exitErr, nil
}

// exactly returns a ginkgo --focus or --skip expression that matches exactly
// the specs named, in a suite with that description (ginkgo matches the
// expressions against the suite's description, a space and the spec's full
// text).
func exactly(description string, names []string) string {
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = regexp.QuoteMeta(name)
	}
	return "^" + regexp.QuoteMeta(description) + " (?:" + strings.Join(quoted, "|") + ")$"
}

// printSpecs prints a titled list of specs with how each failed and, for a
// listed one, the reason the list gives.
func printSpecs(title string, names []string, run suiteRun, list expectedList) {
	if len(names) == 0 {
		return
	}
	fmt.Printf("\n%s (%d):\n", title, len(names))
	for _, name := range names {
		fmt.Printf("  - %s\n", name)
		if e, ok := list.specs[name]; ok {
			fmt.Printf("      [%s] %s\n", e.section, e.reason)
		}
		if f := run.specs[name].failure; f != "" {
			fmt.Printf("      %s\n", abbreviate(f, 400))
		}
	}
}

// abbreviate puts s on one line of at most n bytes.
func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
