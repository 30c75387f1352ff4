package wire

import (
	"errors"
	"strings"
	"testing"
)

var testLimits = Limits{Bulk: 100, Elements: 10, Depth: 3, Line: 64}

// scanAll feeds stream to a fresh scanner in pieces of size step (the whole
// stream when step is 0) and returns the first error.
func scanAll(lim Limits, stream string, step int) (*Scanner, error) {
	s := &Scanner{Limits: &lim}
	if step == 0 {
		step = len(stream) + 1
	}
	for i := 0; i < len(stream); i += step {
		if err := s.Scan([]byte(stream[i:min(i+step, len(stream))])); err != nil {
			return s, err
		}
	}
	return s, nil
}

func TestReplyScannerPassesRepliesWithinLimits(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{
		"+OK\r\n",
		"-ERR wrong\r\n",
		":42\r\n",
		"$5\r\nhello\r\n",
		"$0\r\n\r\n",
		"$-1\r\n",
		"*-1\r\n",
		"_\r\n",
		"$+3\r\nabc\r\n",
		"$-0\r\n\r\n",              // -0 is 0 to go-redis
		"*2\r\n*-0\r\n$-0\r\n\r\n", // and so is an aggregate's
		"$0100\r\n" + strings.Repeat("x", 100) + "\r\n",
		"$5\r\nhe\r\nl\r\n", // a body holding CRLF
		"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n",
		"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n",                   // 4 + 1 elements
		"*1\r\n*1\r\n*1\r\n:1\r\n",                               // depth 3
		"*0\r\n*1\r\n*1\r\n*1\r\n*0\r\n",                         // an empty aggregate at the deepest level
		"|1\r\n+key\r\n+val\r\n$2\r\nok\r\n",                     // an attribute before a reply
		"*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n",                   // an attribute inside an aggregate
		">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhey\r\n",       // a push
		"=10\r\ntxt:hello!\r\n!9\r\nERR wrong\r\n,1.5\r\n#t\r\n", // verbatim, blob error, double, boolean
		"(12345678901234567890123\r\n",
		strings.Repeat("*9\r\n"+strings.Repeat(":1\r\n", 9), 50), // 9 elements per reply, 50 replies
	} {
		for _, step := range []int{0, 1, 2, 3, 7} {
			s, err := scanAll(testLimits, stream, step)
			if err != nil {
				t.Fatalf("%q in pieces of %d: %v", stream, step, err)
			}
			if s.inLine || s.skip != 0 || len(s.stack) != 0 || s.elems != 0 {
				t.Fatalf("%q in pieces of %d: not at the start of a reply after it: %+v", stream, step, *s)
			}
		}
	}
}

func TestReplyScannerRefusesRepliesOverLimits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		stream, field string
	}{
		{"$101\r\n", "MaxReplyBulkBytes"},
		{"$2147483648\r\n", "MaxReplyBulkBytes"},
		{"=1000\r\n", "MaxReplyBulkBytes"},
		{"!1000\r\n", "MaxReplyBulkBytes"},
		{"$99999999999999999999999999999999999", "MaxReplyBulkBytes"}, // before the line ends
		{"*11\r\n", "MaxReplyElements"},
		{"*2147483648\r\n", "MaxReplyElements"},
		{"%6\r\n", "MaxReplyElements"}, // 12 elements
		{"~11\r\n", "MaxReplyElements"},
		{">11\r\n", "MaxReplyElements"},
		{"|6\r\n", "MaxReplyElements"},
		{"*2\r\n*5\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n*4\r\n", "MaxReplyElements"}, // 2+5+4 in one reply
		{"*1\r\n*1\r\n*1\r\n*1\r\n", "MaxReplyDepth"},
		{strings.Repeat("*1\r\n", 5_000_000), "MaxReplyDepth"},
		{"+" + strings.Repeat("x", 64), "MaxReplyLineBytes"},
		{"-ERR " + strings.Repeat("x", 1000) + "\r\n", "MaxReplyLineBytes"},
		{"$5\r\nhello\r\n+" + strings.Repeat("x", 100), "MaxReplyLineBytes"},
	} {
		for _, step := range []int{0, 1, 5} {
			_, err := scanAll(testLimits, c.stream, step)
			if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), "Options."+c.field) {
				t.Fatalf("%.40q in pieces of %d: %v, want ErrReplyTooLarge naming %s", c.stream, step, err, c.field)
			}
		}
	}
}

func TestReplyScannerRefusesMalformedHeaders(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{"$abc\r\n", "*\r\n", "$-2\r\n", "$1-\r\n", "*?\r\n", "$--1\r\n"} {
		if _, err := scanAll(testLimits, stream, 0); !errors.Is(err, errMalformedReply) {
			t.Fatalf("%q: %v, want errMalformedReply", stream, err)
		}
	}
}

// An error is kept: no later read gets past it.
func TestReplyScannerErrorIsSticky(t *testing.T) {
	t.Parallel()
	s, err := scanAll(testLimits, "$1000\r\n", 0)
	if err == nil {
		t.Fatal("no error")
	}
	if err2 := s.Scan([]byte("+OK\r\n")); err2 != err {
		t.Fatalf("the next scan: %v, want %v", err2, err)
	}
}

// Whatever the stream and however it is cut, the scanner does not panic and
// comes to the same verdict.
func FuzzReplyScanner(f *testing.F) {
	for _, s := range []string{"$5\r\nhello\r\n", "*2\r\n:1\r\n%1\r\n+a\r\n+b\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n", "$-1\r\n"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, stream string, step uint8) {
		if (&Scanner{Limits: &testLimits}).whole([]byte(stream)) {
			general := &Scanner{Limits: &testLimits}
			if err := general.scan([]byte(stream)); err != nil || general.inLine || general.skip != 0 || len(general.stack) != 0 || general.elems != 0 {
				t.Fatalf("%q: the shortcut takes it, the general path: %v, %+v", stream, err, *general)
			}
		}
		whole, errWhole := scanAll(testLimits, stream, 0)
		cut, errCut := scanAll(testLimits, stream, int(step))
		if (errWhole == nil) != (errCut == nil) {
			t.Fatalf("%q: whole %v, in pieces of %d %v", stream, errWhole, step, errCut)
		}
		if errWhole == nil && (whole.inLine != cut.inLine || whole.skip != cut.skip || whole.elems != cut.elems || len(whole.stack) != len(cut.stack)) {
			t.Fatalf("%q: whole %+v, in pieces of %d %+v", stream, *whole, step, *cut)
		}
		if int64(len(whole.stack)) > testLimits.Depth || whole.elems > testLimits.Elements {
			t.Fatalf("%q: past the limits: %+v", stream, *whole)
		}
	})
}

// whole, the scanner's shortcut, takes only what the general path takes whole
// and leaves the scanner as that path would: at the start of a reply.
func TestReplyScannerShortcutAgreesWithTheGeneralPath(t *testing.T) {
	t.Parallel()
	lim := Limits{Bulk: 10, Elements: 10, Depth: 3, Line: 8}
	for _, reply := range []string{
		"$5\r\nhello\r\n", "$0\r\n\r\n", "$10\r\n0123456789\r\n", "$11\r\n0123456789a\r\n",
		"$5\r\nhe\r\nl\r\n", "$5\r\nhello\r\n$1\r\na\r\n", "$5\r\nhello\r\n*2\r\n", "$5\r\nhel", "$5\r\nhello\r", "$-1\r\n",
		"$+3\r\nabc\r\n", "$005\r\nhello\r\n", "$0000005\r\nhello\r\n", "$5x\r\nhello\r\n", "$\r\n\r\n",
		"$5\n\nhello\r\n", "$5\r\nhello\n\n", "$1234567890123456789\r\n",
		"+OK\r\n", "-ERR no\r\n", ":42\r\n", "_\r\n", ",1.5\r\n", "#t\r\n", "(123\r\n",
		"+OK\r\n+OK\r\n", "+too long!\r\n", "+1234567\r\n", "+OK\n", "+OK\r", ":1\r\n:2\r\n",
		"*1\r\n:1\r\n", "%1\r\n+a\r\n+b\r\n", ">1\r\n+a\r\n", "|1\r\n+a\r\n+b\r\n", "!3\r\nERR\r\n", "=3\r\nabc\r\n",
		"\r\n\r\n", "\n\n\n", "x\r\n",
	} {
		fast := &Scanner{Limits: &lim}
		if !fast.whole([]byte(reply)) {
			continue
		}
		general := &Scanner{Limits: &lim}
		if err := general.scan([]byte(reply)); err != nil {
			t.Errorf("%q: the shortcut takes it, the general path fails it: %v", reply, err)
			continue
		}
		if general.inLine || general.skip != 0 || len(general.stack) != 0 || general.elems != 0 {
			t.Errorf("%q: the shortcut takes it as one whole reply, the general path ends within one: %+v", reply, *general)
		}
	}
	for _, reply := range []string{"$5\r\nhello\r\n", "+OK\r\n", ":42\r\n", "_\r\n", "-ERR no\r\n"} {
		if !(&Scanner{Limits: &lim}).whole([]byte(reply)) {
			t.Errorf("%q: the shortcut does not take it", reply)
		}
	}
}

// The scanner's cost per reply: a GET's, and an MGET of 10 values'.
func BenchmarkReplyScanner(b *testing.B) {
	lim := Limits{Bulk: 512 << 20, Elements: 32 << 20, Depth: 512, Line: 1 << 20} // the defaults
	for name, reply := range map[string]string{
		"GET":  "$5\r\nhello\r\n",
		"MGET": "*10\r\n" + strings.Repeat("$5\r\nhello\r\n", 10),
	} {
		b.Run(name, func(b *testing.B) {
			s := Scanner{Limits: &lim}
			p := []byte(reply)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if err := s.Scan(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
