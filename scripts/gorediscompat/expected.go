package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// The sections of the expected-failures list.
const (
	// sectionPlain: specs that fail with plain go-redis as well, against the
	// Redis the harness runs. They may fail guarded too.
	sectionPlain = "plain"
	// sectionUntilFixed: specs that fail only guarded, because of a known
	// defect of the project; each entry goes when its fix lands.
	sectionUntilFixed = "until-fixed"
	// sectionByDesign: specs that fail only guarded because they assert what
	// the guard changes on purpose (a supervised reconnect instead of a dial
	// per command, say); the reason says which promise.
	sectionByDesign = "by-design"
)

// expectedFailure is one entry of the list.
type expectedFailure struct {
	section string
	reason  string
	line    int
}

// expectedList is the parsed expected-failures list.
type expectedList struct {
	// version is the go-redis version whose specs the list names.
	version string
	specs   map[string]expectedFailure
}

// readExpected reads the list at path.
func readExpected(path string) (expectedList, error) {
	f, err := os.Open(path)
	if err != nil {
		return expectedList{}, err
	}
	defer f.Close()
	list, err := parseExpected(f)
	if err != nil {
		return expectedList{}, fmt.Errorf("%s: %w", path, err)
	}
	return list, nil
}

// parseExpected parses the list's format:
//
//	# a comment
//	go-redis v9.23.0
//
//	[plain]
//	Full text of a spec, as ginkgo --focus matches it
//		why it fails (one or more indented lines)
//
//	[until-fixed]
//	…
//
//	[by-design]
//	…
//
// Every spec needs a reason and a section, and appears once.
func parseExpected(r io.Reader) (expectedList, error) {
	list := expectedList{specs: make(map[string]expectedFailure)}
	var section, spec string
	var reason []string
	flush := func() error {
		if spec == "" {
			return nil
		}
		e := list.specs[spec]
		if len(reason) == 0 {
			return fmt.Errorf("line %d: %q has no reason (an indented line below it)", e.line, spec)
		}
		e.reason = strings.Join(reason, " ")
		list.specs[spec] = e
		spec, reason = "", nil
		return nil
	}
	scanner := bufio.NewScanner(r)
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if spec == "" {
				return expectedList{}, fmt.Errorf("line %d: a reason with no spec above it", n)
			}
			reason = append(reason, trimmed)
		case strings.HasPrefix(line, "go-redis "):
			list.version = strings.TrimPrefix(line, "go-redis ")
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			if err := flush(); err != nil {
				return expectedList{}, err
			}
			section = strings.Trim(line, "[]")
			if section != sectionPlain && section != sectionUntilFixed && section != sectionByDesign {
				return expectedList{}, fmt.Errorf("line %d: unknown section [%s]: use [%s], [%s] or [%s]", n, section, sectionPlain, sectionUntilFixed, sectionByDesign)
			}
		default:
			if err := flush(); err != nil {
				return expectedList{}, err
			}
			if section == "" {
				return expectedList{}, fmt.Errorf("line %d: %q is in no section", n, line)
			}
			if e, dup := list.specs[line]; dup {
				return expectedList{}, fmt.Errorf("line %d: %q is listed already on line %d", n, line, e.line)
			}
			spec = line
			list.specs[spec] = expectedFailure{section: section, line: n}
		}
	}
	if err := scanner.Err(); err != nil {
		return expectedList{}, err
	}
	if err := flush(); err != nil {
		return expectedList{}, err
	}
	if list.version == "" {
		return expectedList{}, fmt.Errorf("no \"go-redis vX.Y.Z\" line")
	}
	return list, nil
}
