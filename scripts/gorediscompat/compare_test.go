package main

import (
	"slices"
	"testing"
)

func runOf(outcomes map[string]outcome) suiteRun {
	r := newSuiteRun()
	for name, o := range outcomes {
		r.add(name, specResult{outcome: o})
	}
	return r
}

func TestCompare(t *testing.T) {
	plain := runOf(map[string]outcome{
		"passes":              passed,
		"fails in both":       failed,
		"fails guarded":       passed,
		"listed, fails":       passed,
		"listed, passes":      passed,
		"by design, passes":   passed,
		"plain listed, fails": failed,
		"skipped":             skipped,
		"fails plain only":    failed,
	})
	guarded := runOf(map[string]outcome{
		"passes":              passed,
		"fails in both":       failed,
		"fails guarded":       failed,
		"listed, fails":       failed,
		"listed, passes":      passed,
		"by design, passes":   passed,
		"plain listed, fails": failed,
		"skipped":             skipped,
		"fails plain only":    passed,
	})
	list := expectedList{specs: map[string]expectedFailure{
		"listed, fails":       {section: sectionUntilFixed},
		"listed, passes":      {section: sectionUntilFixed},
		"by design, passes":   {section: sectionByDesign},
		"plain listed, fails": {section: sectionPlain},
	}}

	v := compare(plain, guarded, list)

	if v.ran != 8 || v.passedPlain != 5 || v.passedGuarded != 4 || v.failedPlain != 3 || v.failedGuarded != 4 {
		t.Errorf("counts: ran %d, passed %d/%d, failed %d/%d; want 8, 5/4, 3/4",
			v.ran, v.passedPlain, v.passedGuarded, v.failedPlain, v.failedGuarded)
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"listed", v.listed, []string{"listed, fails"}},
		{"unexplained", v.unexplained, []string{"fails guarded"}},
		{"fixed", v.fixed, []string{"listed, passes"}},
		{"unlisted plain", v.unlistedPlain, []string{"fails in both", "fails plain only"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestConfirm(t *testing.T) {
	v := verdict{unexplained: []string{"again", "passed guarded", "failed plain"}}
	plain := runOf(map[string]outcome{"again": passed, "passed guarded": passed, "failed plain": failed})
	guarded := runOf(map[string]outcome{"again": failed, "passed guarded": passed, "failed plain": failed})

	flaky := v.confirm(plain, guarded)

	if want := []string{"again"}; !slices.Equal(v.unexplained, want) {
		t.Errorf("unexplained = %q, want %q", v.unexplained, want)
	}
	if want := []string{"passed guarded", "failed plain"}; !slices.Equal(flaky, want) {
		t.Errorf("flaky = %q, want %q", flaky, want)
	}
}
