package redact

import "testing"

func TestTextHidesEscapedForms(t *testing.T) {
	t.Parallel()
	const pw = `p"a\ss w/rd`
	for _, msg := range []string{
		"ERR upstream refused AUTH " + pw,
		`ERR upstream refused AUTH "p\"a\\ss w/rd"`,
		"redis://:p%22a%5Css%20w%2Frd@host",
		"x=p%22a%5Css+w%2Frd",
	} {
		if got := Text(msg, Credentials("app-user", pw)...); got == msg || containsAny(got, pw, `p\"a\\ss`, "p%22a") {
			t.Fatalf("%q: %q", msg, got)
		}
	}
	if got := Text("user app-user refused", Credentials("app-user", "pw")...); got != "user xxxxx refused" {
		t.Fatalf("the username given with a password: %q", got)
	}
	if got := Text("default user", Credentials("default", "pw")...); got != "default user" {
		t.Fatalf("the default user: %q", got)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				return true
			}
		}
	}
	return false
}
