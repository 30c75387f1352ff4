package redact

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestURLShowsNoSecret(t *testing.T) {
	for raw, want := range map[string]string{
		"redis://:s3cr3t@host:6379/0":             "redis://xxxxx@host:6379/0",
		"redis://user:p#ss/w?rd@host:6379":        "redis://xxxxx@host:6379",
		"rediss://host:6380?password=s3cr3t&db=1": "rediss://host:6380?password=xxxxx&db=1",
		"redis://host?Auth%5FToken=t0k3n#frag":    "redis://host?Auth%5FToken=xxxxx#frag",
		"unix:///run/redis.sock":                  "unix:///run/redis.sock",
		"user:pw@host":                            "xxxxx@host",
	} {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestURLSecretsAreFound(t *testing.T) {
	if got := QuerySecrets("redis://h?password=a%2Fb&db=1&token=t"); !slices.Equal(got, []string{"a%2Fb", "a/b", "t"}) {
		t.Errorf("QuerySecrets: %q", got)
	}
	if got := RawURLPassword("redis://u:p%zz@h"); got != "p%zz" {
		t.Errorf("RawURLPassword: %q", got)
	}
	if !UserinfoCutShort("redis://:ab#cd@host") || UserinfoCutShort("redis://:ab%23cd@host") || UserinfoCutShort("unix:///a@b") {
		t.Error("UserinfoCutShort tells a password cut short wrongly")
	}
	_, err := url.Parse(badEscape)
	if text := URLError(err, badEscape); strings.Contains(text, "zz") || !strings.Contains(text, "%XX") {
		t.Errorf("URLError quotes the escape: %q", text)
	}
	if text := URLError(errors.New("bad p%zz"), "redis://u:p%zz@h"); strings.Contains(text, "p%zz") {
		t.Errorf("URLError quotes the password: %q", text)
	}
}

// badEscape is a URL whose password holds an invalid escape.
var badEscape = "redis://u:p%zz@h"
