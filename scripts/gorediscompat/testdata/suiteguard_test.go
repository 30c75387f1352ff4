// This file is copied into go-redis's test package by scripts/gorediscompat,
// which rewrites every redis.NewClient( of the copied test files into
// newSuiteClient(. It is kept under testdata so that the project's own build
// ignores it.

package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	. "github.com/bsm/ginkgo/v2"
	"github.com/bsm/ginkgo/v2/types"
	. "github.com/bsm/gomega"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// ctx is the context of the specs; go-redis declares it in example_test.go,
// which the harness leaves out.
var ctx = context.Background()

// The suite's bootstrap points every spec at redisStackPort; the harness
// starts its server on a free port instead and passes it in REDIS_PORT.
func init() {
	if port := os.Getenv("REDIS_PORT"); port != "" {
		redisStackPort = port
		redisStackAddr = ":" + port
	}
}

// The mode of the run, set by the harness: "plain" builds plain go-redis
// clients, "guarded" wraps each one with redisguard.Wrap. A guarded client is
// handed to its spec at once: its first command waits for its first
// connection, as go-redis's does.
var guarded = os.Getenv("REDISGUARD_SUITE") == "guarded"

// guards holds the guard of every client the suite built, by client. The
// suite closes the *redis.Client it holds, which closes the connection pool
// the guard sits on but not the guard: its supervisor stays idle until
// TestMain closes every guard after the specs (closing the guard closes its
// client again, which only returns redis.ErrClosed). The specs of this file
// close the guard instead, as an application does.
var guards struct {
	sync.Mutex
	of map[*redis.Client]*redisguard.Client
}

// newSuiteClient builds a client as redis.NewClient does and, in guarded
// mode, wraps it with redisguard.Wrap and zero Options. Wrap adds the guard's
// hook to the client, so every command the spec sends through the returned
// *redis.Client passes the guard, and turns the client's own retries off.
//
// A TCP client with no address gets the suite's server, as it would get
// go-redis's default localhost:6379 where go-redis's docker setup runs it.
func newSuiteClient(opt *redis.Options) *redis.Client {
	if opt != nil && opt.Addr == "" && (opt.Network == "" || opt.Network == "tcp") {
		opt.Addr = "127.0.0.1:" + redisStackPort
	}
	client := redis.NewClient(opt)
	if !guarded {
		return client
	}
	guard, err := redisguard.Wrap(client, redisguard.Options{})
	if err != nil {
		panic(fmt.Sprintf("redisguard.Wrap: %v", err))
	}
	guards.Lock()
	if guards.of == nil {
		guards.of = make(map[*redis.Client]*redisguard.Client)
	}
	guards.of[client] = guard
	guards.Unlock()
	return client
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeGuards()
	os.Exit(code)
}

// closeGuards closes the guard of every client the suite built.
func closeGuards() {
	guards.Lock()
	defer guards.Unlock()
	for _, guard := range guards.of {
		if err := guard.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			fmt.Fprintf(os.Stderr, "closing a guard: %v\n", err)
		}
	}
}

// closeHeld closes what an application holds: the guard of a guarded client,
// the client itself otherwise.
func closeHeld(client *redis.Client) error {
	guards.Lock()
	guard := guards.of[client]
	guards.Unlock()
	if guard != nil {
		return guard.Close()
	}
	return client.Close()
}

// go-redis's two specs of a closed client ("Client should close" and
// "pipelining pipeline: exec pipeline when get conn failed"), with the Close
// sent to what the application holds: through the suite's own specs, which
// close the *redis.Client under the guard, the guard's closed error is never
// seen.
var _ = Describe("redisguard Close of what the application holds", func() {
	var client *redis.Client

	BeforeEach(func() {
		client = newSuiteClient(redisOptions())
	})

	It("should close", func() {
		Expect(closeHeld(client)).NotTo(HaveOccurred())
		err := client.Ping(ctx).Err()
		Expect(err).To(MatchError("redis: client is closed"))
	})

	It("pipeline: exec pipeline when get conn failed", func() {
		p := client.Pipeline()
		p.Get(ctx, "key")
		p.Set(ctx, "key", "value", 0)
		p.Get(ctx, "key")

		Expect(closeHeld(client)).NotTo(HaveOccurred())

		cmds, err := p.Exec(ctx)
		Expect(err).To(Equal(redis.ErrClosed))
		Expect(cmds).To(HaveLen(3))
		for _, cmd := range cmds {
			Expect(cmd.Err()).To(Equal(redis.ErrClosed))
		}
	})
})

// progressEvent is one line of the progress file (REDISGUARD_SUITE_PROGRESS),
// written as the specs run, so that the harness knows which spec was running
// when one crashes the process (an assertion in a goroutine of its own, say),
// which ginkgo's end-of-run reports never tell.
type progressEvent struct {
	Event       string `json:"event"` // suite, start, end or setup
	Description string `json:"description,omitempty"`
	Spec        string `json:"spec,omitempty"`
	State       string `json:"state,omitempty"`
	Failure     string `json:"failure,omitempty"`
}

var progress = openProgress()

func openProgress() *os.File {
	path := os.Getenv("REDISGUARD_SUITE_PROGRESS")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	return f
}

// record writes one event with a single write, so that a crash loses none
// that was recorded.
func record(e progressEvent) {
	if progress == nil {
		return
	}
	line, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	if _, err := progress.Write(append(line, '\n')); err != nil {
		panic(err)
	}
}

// specName is the spec's full text as ginkgo's --focus matches it, without
// the suite's description.
func specName(report types.SpecReport) string {
	var texts []string
	for _, text := range append(append([]string(nil), report.ContainerHierarchyTexts...), report.LeafNodeText) {
		if text != "" {
			texts = append(texts, text)
		}
	}
	return strings.Join(texts, " ")
}

func failureText(report types.SpecReport) string {
	if report.Failure.IsZero() {
		return ""
	}
	f := report.Failure
	text := fmt.Sprintf("%s in [%s] at %s:%d: %s", report.State, f.FailureNodeType, baseName(f.Location.FileName), f.Location.LineNumber, f.Message)
	if f.ForwardedPanic != "" {
		text += ": " + f.ForwardedPanic
	}
	return text
}

func baseName(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

var _ = ReportBeforeSuite(func(report types.Report) {
	record(progressEvent{Event: "suite", Description: report.SuiteDescription})
})

var _ = ReportBeforeEach(func(report types.SpecReport) {
	if report.State != types.SpecStateSkipped && report.State != types.SpecStatePending {
		record(progressEvent{Event: "start", Spec: specName(report)})
	}
})

var _ = ReportAfterEach(func(report types.SpecReport) {
	record(progressEvent{Event: "end", Spec: specName(report), State: report.State.String(), Failure: failureText(report)})
})

var _ = ReportAfterSuite("the harness's record of suite failures", func(report types.Report) {
	for _, spec := range report.SpecReports {
		if spec.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) && spec.State.Is(types.SpecStateFailureStates) {
			record(progressEvent{Event: "setup", State: spec.State.String(), Failure: failureText(spec)})
		}
	}
})
