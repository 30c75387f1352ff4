package doctor

import (
	"errors"

	"github.com/redisguard/redisguard/internal/redact"
)

// redactReport replaces every secret in the report's texts and error, and
// cuts each text to maxText. The package never puts a password there itself;
// this guards against a server or a dialer that quotes one back, as the cut
// guards against a server that sends a value of megabytes.
func redactReport(r Report, secrets []string) Report {
	secrets = nonEmpty(secrets)
	for i := range r.Checks {
		r.Checks[i].Node = cut(r.Checks[i].Node, maxText)
		r.Checks[i].Detail = cut(redact.Text(r.Checks[i].Detail, secrets...), maxText)
		r.Checks[i].Advice = cut(redact.Text(r.Checks[i].Advice, secrets...), maxText)
	}
	if r.Err != nil {
		if msg := cut(redact.Text(r.Err.Error(), secrets...), maxText); msg != r.Err.Error() {
			r.Err = &redactedError{msg: msg, kinds: kindsOf(r.Err)}
		}
	}
	return r
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

// redactedError is an error whose text had a secret replaced, or was cut.
// It still matches the package's errors it matched, but no longer unwraps to
// the original, whose text holds the secret.
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
