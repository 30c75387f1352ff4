package main

import (
	"maps"
	"slices"
)

// verdict compares a plain and a guarded run of the same specs.
type verdict struct {
	ran           int // specs that ran (were not skipped) guarded
	passedPlain   int
	passedGuarded int
	failedPlain   int
	failedGuarded int

	// guardedOnly failed guarded and did not fail plain: listed ones are
	// expected, the others are unexplained.
	listed      []string
	unexplained []string
	// fixed are listed [until-fixed] and passed guarded: their entry can go.
	// A [by-design] spec that passed is not one: whether such a spec fails
	// may depend on timing (see the list).
	fixed []string
	// unlistedPlain failed plain and are not listed [plain]; they are not the
	// guard's doing, but the list should say why they fail.
	unlistedPlain []string
}

// compare classifies every spec of the two runs against the list.
func compare(plain, guarded suiteRun, list expectedList) verdict {
	v := verdict{
		passedPlain:   plain.count(passed),
		passedGuarded: guarded.count(passed),
		failedPlain:   plain.count(failed),
		failedGuarded: guarded.count(failed),
	}
	for _, name := range slices.Sorted(maps.Keys(guarded.specs)) {
		g := guarded.specs[name]
		p := plain.specs[name]
		entry, isListed := list.specs[name]
		if g.outcome != skipped {
			v.ran++
		}
		switch {
		case g.outcome == failed && p.outcome != failed && isListed:
			v.listed = append(v.listed, name)
		case g.outcome == failed && p.outcome != failed:
			v.unexplained = append(v.unexplained, name)
		case g.outcome == passed && isListed && entry.section == sectionUntilFixed:
			v.fixed = append(v.fixed, name)
		}
		if p.outcome == failed && !(isListed && entry.section == sectionPlain) {
			v.unlistedPlain = append(v.unlistedPlain, name)
		}
	}
	return v
}

// confirm re-examines the unexplained specs after they were run again in
// both modes: a spec that did not fail guarded only again is flaky, not
// unexplained.
func (v *verdict) confirm(plain, guarded suiteRun) (flaky []string) {
	var still []string
	for _, name := range v.unexplained {
		if guarded.specs[name].outcome == failed && plain.specs[name].outcome != failed {
			still = append(still, name)
		} else {
			flaky = append(flaky, name)
		}
	}
	v.unexplained = still
	return flaky
}
