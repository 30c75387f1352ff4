package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// outcome is what became of a spec in one run.
type outcome int

const (
	skipped outcome = iota // skipped or pending: not run
	passed
	failed // failed, panicked, timed out, aborted, interrupted or crashed the process
)

// specResult is one spec of one run.
type specResult struct {
	outcome outcome
	// failure says what failed: the state, the node, the location and the message.
	failure string
}

// suiteRun is the result of one run of the suite, by spec name (the spec's
// full text, as ginkgo's --focus matches it without the suite's description).
type suiteRun struct {
	description string
	specs       map[string]specResult
	// setupFailure is set when a suite-level node (BeforeSuite, AfterSuite)
	// failed: the run says nothing about the specs then.
	setupFailure string
	// races counts the race detector's reports (with -race), guardRaces those
	// with the project's code on a stack: ginkgo's spec states do not show them.
	races, guardRaces int
}

func newSuiteRun() suiteRun { return suiteRun{specs: make(map[string]specResult)} }

// progressEvent is one line of the progress file that the glue
// (testdata/suiteguard_test.go) writes as the specs run.
type progressEvent struct {
	Event       string `json:"event"` // suite, start, end or setup
	Description string `json:"description"`
	Spec        string `json:"spec"`
	State       string `json:"state"`
	Failure     string `json:"failure"`
}

// attempt is what one process of the suite recorded.
type attempt struct {
	run suiteRun
	// crashed names the spec that started and never ended: the process died
	// while it ran.
	crashed string
	// output is what the process printed.
	output string
}

// readProgress reads the progress file of one process.
func readProgress(path string) (attempt, error) {
	f, err := os.Open(path)
	if err != nil {
		return attempt{}, fmt.Errorf("the suite recorded no progress: %w", err)
	}
	defer f.Close()
	a := attempt{run: newSuiteRun()}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 16<<20)
	for scanner.Scan() {
		var e progressEvent
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			return attempt{}, fmt.Errorf("%s: %w", path, err)
		}
		switch e.Event {
		case "suite":
			a.run.description = e.Description
		case "start": // ginkgo runs one spec at a time
			a.crashed = e.Spec
		case "end":
			a.crashed = ""
			a.run.add(e.Spec, specResult{outcome: outcomeOf(e.State), failure: e.Failure})
		case "setup":
			if a.run.setupFailure == "" {
				a.run.setupFailure = e.Failure
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return attempt{}, err
	}
	return a, nil
}

func outcomeOf(state string) outcome {
	switch state {
	case "passed":
		return passed
	case "skipped", "pending":
		return skipped
	default:
		return failed
	}
}

// add records a spec's result. Specs with the same name count as one, failed
// when any of them failed; a spec skipped in a later process (because an
// earlier one ran it) keeps its result.
func (r suiteRun) add(name string, result specResult) {
	if prev, ok := r.specs[name]; ok && prev.outcome >= result.outcome {
		return
	}
	r.specs[name] = result
}

// merge adds the results of a later process of the same run.
func (r *suiteRun) merge(later suiteRun) {
	if r.description == "" {
		r.description = later.description
	}
	if r.setupFailure == "" {
		r.setupFailure = later.setupFailure
	}
	r.races += later.races
	r.guardRaces += later.guardRaces
	for name, result := range later.specs {
		r.add(name, result)
	}
}

// count returns how many specs had outcome o.
func (r suiteRun) count(o outcome) int {
	n := 0
	for _, s := range r.specs {
		if s.outcome == o {
			n++
		}
	}
	return n
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// crashReason extracts from a crashed process's output the panic and the
// first lines after it (for a failed assertion: the assertion and where it
// is), on one line.
func crashReason(output string) string {
	output = ansiEscape.ReplaceAllString(output, "")
	i := strings.Index(output, "panic: ")
	if i < 0 {
		return "the process exited without a panic message"
	}
	var lines []string
	for _, line := range strings.Split(output[i:], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
		if len(lines) == 3 {
			break
		}
	}
	return strings.Join(lines, " ")
}

// raceReports counts the race detector's reports in a process's output, and
// those with a frame of the project's code.
func raceReports(output string) (races, inGuard int) {
	const header = "WARNING: DATA RACE"
	blocks := strings.Split(output, header)
	for _, block := range blocks[1:] {
		races++
		if end := strings.Index(block, "=================="); end >= 0 {
			block = block[:end]
		}
		if strings.Contains(block, projectPath+".") || strings.Contains(block, projectPath+"/") {
			inGuard++
		}
	}
	return races, inGuard
}
