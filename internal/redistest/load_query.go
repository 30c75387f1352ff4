package redistest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// Outcome counts the commands of a window: how many succeeded, how many
// failed, and the failures by error text.
type Outcome struct {
	OK, Failed int
	Errors     map[string]int
}

// Total returns how many commands the outcome counts.
func (o Outcome) Total() int {
	return o.OK + o.Failed
}

// SuccessRatio returns the share of commands that succeeded, between 0 and
// 1, and 0 when there were none, so that a window without traffic never
// passes for an available one.
func (o Outcome) SuccessRatio() float64 {
	if o.Total() == 0 {
		return 0
	}
	return float64(o.OK) / float64(o.Total())
}

// String renders the outcome for a test's log, the commonest errors first.
func (o Outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.2f%% of %d commands succeeded", 100*o.SuccessRatio(), o.Total())
	texts := slices.SortedFunc(maps.Keys(o.Errors), func(a, b string) int {
		return cmp.Or(cmp.Compare(o.Errors[b], o.Errors[a]), strings.Compare(a, b))
	})
	for i, text := range texts {
		if i == 0 {
			b.WriteString("; errors:")
		}
		fmt.Fprintf(&b, " %d× %q", o.Errors[text], text)
	}
	return b.String()
}

// Bucket is one bucket of Series.
type Bucket struct {
	Start      time.Time
	OK, Failed int
}

// Outcome counts the commands on keys (every key when none is given) that
// started in [from, to). A command belongs to the window its start falls
// in, however long it took.
func (l *Load) Outcome(from, to time.Time, keys ...string) Outcome {
	o := Outcome{Errors: make(map[string]int)}
	lo, hi := l.offset(from), l.offset(to)
	for _, r := range l.records(keys) {
		if r.start < lo || r.start >= hi {
			continue
		}
		if r.err == "" {
			o.OK++
		} else {
			o.Failed++
			o.Errors[r.err]++
		}
	}
	return o
}

// Series counts the commands on keys (every key when none is given) per
// bucket of LoadConfig.Bucket, from Started to the last command recorded,
// by when they started.
func (l *Load) Series(keys ...string) []Bucket {
	var series []Bucket
	for _, r := range l.records(keys) {
		i := int(r.start / l.cfg.Bucket)
		for len(series) <= i {
			series = append(series, Bucket{Start: l.started.Add(time.Duration(len(series)) * l.cfg.Bucket)})
		}
		if r.err == "" {
			series[i].OK++
		} else {
			series[i].Failed++
		}
	}
	return series
}

// FirstSuccess returns when the first command on key that started at or
// after after and succeeded came back, and false when none has yet.
func (l *Load) FirstSuccess(after time.Time, key string) (time.Time, bool) {
	lo := l.offset(after)
	first, found := time.Duration(0), false
	for _, r := range l.records([]string{key}) {
		if r.err == "" && r.start >= lo && (!found || r.end < first) {
			first, found = r.end, true
		}
	}
	return l.started.Add(first), found
}

// LongestGap returns the longest time within [from, to) during which no
// command on keys (every key when none is given) came back successful:
// the longest stretch between two successes, or between from or to and
// the success nearest to it. It is how long the keys were unavailable, as
// the load could see, whatever the client did meanwhile.
func (l *Load) LongestGap(from, to time.Time, keys ...string) time.Duration {
	lo, hi := l.offset(from), l.offset(to)
	var ends []time.Duration
	for _, r := range l.records(keys) {
		if r.err == "" && r.end >= lo && r.end < hi {
			ends = append(ends, r.end)
		}
	}
	slices.Sort(ends)
	gap, last := time.Duration(0), lo
	for _, end := range append(ends, hi) {
		gap = max(gap, end-last)
		last = end
	}
	return gap
}

// WaitSuccess waits until every one of keys has had a command that
// started at or after after succeed, and returns when the last of them
// first did. It fails the test after timeout, naming the keys still
// failing and their errors.
func (l *Load) WaitSuccess(t testing.TB, after time.Time, timeout time.Duration, keys ...string) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var latest time.Time
		var waiting []string
		for _, key := range keys {
			first, ok := l.FirstSuccess(after, key)
			if !ok {
				waiting = append(waiting, key)
			} else if first.After(latest) {
				latest = first
			}
		}
		if len(waiting) == 0 {
			return latest
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: no success on %q within %v; since then: %v", waiting, timeout, l.Outcome(after, time.Now(), waiting...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// offset converts a time to an offset from Started.
func (l *Load) offset(at time.Time) time.Duration {
	return at.Sub(l.started)
}

// records returns a copy of the records on keys (all when none is given).
// A key the load does not send to fails the test: it would match nothing
// and make any window look idle.
func (l *Load) records(keys []string) []loadRecord {
	var want []bool
	if len(keys) > 0 {
		want = make([]bool, len(l.cfg.Keys))
		for _, key := range keys {
			i, ok := l.keys[key]
			if !ok {
				l.t.Errorf("redistest: the load sends no command to key %q", key)
				continue
			}
			want[i] = true
		}
	}
	var out []loadRecord
	for _, w := range l.workers {
		w.mu.Lock()
		for _, r := range w.records {
			if want == nil || want[r.key] {
				out = append(out, r)
			}
		}
		w.mu.Unlock()
	}
	return out
}
