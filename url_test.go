package redisguard

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestBadURLsAreRejectedWithoutThePassword(t *testing.T) {
	for _, tt := range []struct {
		url      string
		password string // the part of the URL no message may show
		want     string // in the message
	}{
		// An unencoded '#', '/' or '?' ends the user info early: url.Parse
		// would take part of the password for the port or the host.
		{"redis://:Tr0ub4dor#3x@127.0.0.5:6379/0", "Tr0ub4dor#3x", "%23"},
		{"redis://:17198#Kx9@127.0.0.5:6379", "17198#Kx9", "%23"},
		{"redis://user:pQ7x/zW3k@127.0.0.5:6379/0", "pQ7x/zW3k", "%2F"},
		{"redis://user:1234/abcd@127.0.0.5:6379", "1234/abcd", "%2F"},
		{"rediss://:que?ry1234@127.0.0.5:6379", "que?ry1234", "%3F"},
		{"redis://:Kq2@vB9m#J4x@127.0.0.5:6379", "Kq2@vB9m#J4x", "url.PathEscape"},
		{"unix://:Wz5k/Hq8r@/var/run/redis.sock", "Wz5k/Hq8r", "url.PathEscape"},
		// A bad escape: url.Parse's message quotes it.
		{"redis://:100%sure-Secret@127.0.0.5:6379", "100%sure-Secret", "%25"},
		// No host: go-redis would dial localhost:6379 with the password.
		{"redis://:Xk4q-Vb7Jm2@", "Xk4q-Vb7Jm2", "has no host"},
		{"redis://:Xk4q-Vb7Jm2@:6380", "Xk4q-Vb7Jm2", "has no host"},
		{"redis://", "", "has no host"},
		// Ports outside 1…65535.
		{"redis://:Xk4q-Vb7Jm2@127.0.0.5:0", "Xk4q-Vb7Jm2", "has port 0"},
		{"redis://:Xk4q-Vb7Jm2@127.0.0.5:99999", "Xk4q-Vb7Jm2", "has port 99999"},
		{"redis://:Xk4q-Vb7Jm2@[::1]:65536/0", "Xk4q-Vb7Jm2", "has port 65536"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			c, err := New(Options{URL: tt.url})
			if err == nil {
				addr := c.UniversalClient.(*redis.Client).Options().Addr
				c.Close()
				t.Fatalf("New accepted it, and would dial %s", addr)
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != "URL" {
				t.Fatalf("error %q: want an *OptionError for URL", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if f := leakedFragment(msg, tt.password); f != "" {
				t.Errorf("error %q shows %q, a part of the user info", msg, f)
			}
		})
	}
}

func TestGoodURLsKeepTheirPasswordWhole(t *testing.T) {
	for _, password := range []string{"Tr0ub4dor#3x", "pass/word", "que?ry", "100%sure", "p@ss:w0rd", "with space", "plus+sign"} {
		for _, raw := range []string{
			"redis://:" + url.PathEscape(password) + "@127.0.0.1:1/0",
			(&url.URL{Scheme: "redis", User: url.UserPassword("user", password), Host: "127.0.0.1:1"}).String(),
		} {
			c, err := New(Options{URL: raw})
			if err != nil {
				t.Fatalf("New(%q): %v", raw, err)
			}
			o := c.UniversalClient.(*redis.Client).Options()
			c.Close()
			if o.Addr != "127.0.0.1:1" || o.Password != password {
				t.Errorf("%q: address %q and password %q, want 127.0.0.1:1 and %q", raw, o.Addr, o.Password, password)
			}
		}
	}
}

// FuzzURLErrorsHoldNoPassword puts any password into URLs and checks that New
// either dials exactly the URL's host with exactly that password, or fails
// with an error that shows no part of it four characters or longer.
func FuzzURLErrorsHoldNoPassword(f *testing.F) {
	for _, pw := range []string{
		"Tr0ub4dor#3x", "17198#Kx9", "pass/word", "que?ry1234", "p@ss#word", "100%sure", "%zzzz",
		"%41%42%43%44", "with space", "6379#6379", "redis#rediss", "[::1]#1234", "::::#", "", "a",
	} {
		for form := range uint8(len(fuzzURLForms)) {
			f.Add(pw, form)
		}
	}
	f.Fuzz(func(t *testing.T, password string, form uint8) {
		build := fuzzURLForms[int(form)%len(fuzzURLForms)]
		raw := build(password)
		msg, addr, got := tryURL(raw)
		if msg == "" {
			want, err := url.PathUnescape(password)
			if err != nil || addr != fuzzURLAddr(raw) || got != want {
				t.Fatalf("New(%q) dials %q with password %q; want %q with %q", raw, addr, got, fuzzURLAddr(raw), want)
			}
			return
		}
		// A fragment shown because of the password would change with it;
		// one that the message holds anyway ("redis", "6379") would not.
		baseline, _, _ := tryURL(build(rotate(password)))
		for _, secret := range []string{password, unescaped(password)} {
			if frag := leakedFragment(msg, secret); frag != "" && !strings.Contains(baseline, frag) {
				t.Fatalf("New(%q): error %q shows %q, a part of the password", raw, msg, frag)
			}
		}
	})
}

// fuzzURLForms put a password into the URL forms New accepts.
var fuzzURLForms = []func(pw string) string{
	func(pw string) string { return "redis://:" + pw + "@127.0.0.1:1/0" },
	func(pw string) string { return "redis://user:" + pw + "@127.0.0.1:1" },
	func(pw string) string { return "rediss://:" + pw + "@127.0.0.1:1?dial_timeout=1s" },
	func(pw string) string { return "unix://:" + pw + "@/tmp/redisguard-fuzz.sock" },
}

// fuzzURLAddr is the address every form means.
func fuzzURLAddr(raw string) string {
	if strings.HasPrefix(raw, "unix:") {
		return "/tmp/redisguard-fuzz.sock"
	}
	return "127.0.0.1:1"
}

// tryURL runs New on raw and returns its error's text, or the address and
// password of the client it built.
func tryURL(raw string) (msg, addr, password string) {
	c, err := New(Options{URL: raw})
	if err != nil {
		return err.Error(), "", ""
	}
	defer c.Close()
	o := c.UniversalClient.(*redis.Client).Options()
	return "", o.Addr, o.Password
}

// leakedFragment returns the first part of secret, four bytes or longer, that
// msg contains, or "".
func leakedFragment(msg, secret string) string {
	const n = 4
	for i := 0; i+n <= len(secret); i++ {
		if frag := secret[i : i+n]; strings.Contains(msg, frag) {
			return frag
		}
	}
	return ""
}

// rotate shifts every letter and digit of s to the next of its kind, staying
// within the hexadecimal digits where it starts in them, so that s keeps its
// shape: its delimiters, and whether each %XX is a valid escape.
func rotate(s string) string {
	shift := func(r, lo, hi rune) rune { return lo + (r-lo+1)%(hi-lo+1) }
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return shift(r, '0', '9')
		case r >= 'a' && r <= 'f':
			return shift(r, 'a', 'f')
		case r >= 'A' && r <= 'F':
			return shift(r, 'A', 'F')
		case r >= 'g' && r <= 'z':
			return shift(r, 'g', 'z')
		case r >= 'G' && r <= 'Z':
			return shift(r, 'G', 'Z')
		}
		return r
	}, s)
}

// unescaped is s with its %XX escapes decoded, or s when it has invalid ones.
func unescaped(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func TestRotateKeepsTheShape(t *testing.T) {
	for in, want := range map[string]string{"ab9z%2F#": "bc0g%3A#", "fF": "aA", "Zz": "Gg"} {
		if got := rotate(in); got != want {
			t.Errorf("rotate(%q) = %q, want %q", in, got, want)
		}
	}
}
