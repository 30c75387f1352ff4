package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseExpected(t *testing.T) {
	list, err := parseExpected(strings.NewReader(`# comment
go-redis v9.23.0

[plain]
Commands server should WaitAOF
	WAITAOF is Redis 7.2
	(a second line)

[until-fixed]
# 1. a defect
Client timeout read timeout Ping timeouts
	Defect 3.
`))
	if err != nil {
		t.Fatal(err)
	}
	if list.version != "v9.23.0" {
		t.Errorf("version = %q, want v9.23.0", list.version)
	}
	want := map[string]expectedFailure{
		"Commands server should WaitAOF":            {section: sectionPlain, reason: "WAITAOF is Redis 7.2 (a second line)", line: 5},
		"Client timeout read timeout Ping timeouts": {section: sectionUntilFixed, reason: "Defect 3.", line: 11},
	}
	if len(list.specs) != len(want) {
		t.Fatalf("specs = %v, want %v", list.specs, want)
	}
	for name, w := range want {
		if got := list.specs[name]; got != w {
			t.Errorf("%q = %+v, want %+v", name, got, w)
		}
	}
}

func TestParseExpectedRejects(t *testing.T) {
	for _, tc := range []struct{ name, text, wantErr string }{
		{"no reason", "go-redis v1\n[plain]\nA spec\n", `"A spec" has no reason`},
		{"no reason before the next spec", "go-redis v1\n[plain]\nA spec\nB spec\n\tok\n", `"A spec" has no reason`},
		{"no section", "go-redis v1\nA spec\n\treason\n", "is in no section"},
		{"unknown section", "go-redis v1\n[flaky]\n", "unknown section [flaky]"},
		{"reason without spec", "go-redis v1\n[plain]\n\treason\n", "a reason with no spec above it"},
		{"listed twice", "go-redis v1\n[plain]\nA\n\tr\n[until-fixed]\nA\n\tr\n", `"A" is listed already on line 3`},
		{"no version", "[plain]\nA\n\tr\n", "no \"go-redis vX.Y.Z\" line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseExpected(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The project's list parses and names the go-redis version the project
// requires.
func TestProjectList(t *testing.T) {
	list, err := readExpected("expected-failures.txt")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := goRedisPath + " " + list.version; !strings.Contains(string(mod), want) {
		t.Errorf("expected-failures.txt is for go-redis %s; go.mod does not require %q", list.version, want)
	}
	if len(list.specs) == 0 {
		t.Error("no specs listed")
	}
}
