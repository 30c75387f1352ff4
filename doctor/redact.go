package doctor

import (
	"errors"
	"strings"
)

// redacted replaces a password wherever the report would show it.
const redacted = "xxxxx"

// redactReport replaces every secret in the report's texts and error. The
// package never puts a password there itself; this guards against a server
// or a dialer that quotes one back.
func redactReport(r Report, secrets []string) Report {
	secrets = nonEmpty(secrets)
	if len(secrets) == 0 {
		return r
	}
	for i := range r.Checks {
		r.Checks[i].Detail = Redact(r.Checks[i].Detail, secrets...)
		r.Checks[i].Advice = Redact(r.Checks[i].Advice, secrets...)
	}
	if r.Err != nil {
		if msg := Redact(r.Err.Error(), secrets...); msg != r.Err.Error() {
			r.Err = &redactedError{msg: msg, kinds: kindsOf(r.Err)}
		}
	}
	return r
}

// Redact replaces every occurrence of each non-empty secret in text with
// "xxxxx". The command line uses it on everything it prints.
func Redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return text
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redactedError is an error whose text had a secret replaced. It still
// matches the package's errors it matched, but no longer unwraps to the
// original, whose text holds the secret.
type redactedError struct {
	msg   string
	kinds []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.kinds }

// kindsOf returns the package's errors that err matches.
func kindsOf(err error) []error {
	var kinds []error
	for _, kind := range []error{ErrInvalidOptions, ErrUnreachable, ErrAuthentication} {
		if errors.Is(err, kind) {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}
