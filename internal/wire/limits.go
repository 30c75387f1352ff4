package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
)

// ErrReplyTooLarge is the error of a connection whose server sent a reply
// declaring more than its Limits allow (redisguard.ErrReplyTooLarge).
var ErrReplyTooLarge = errors.New("redisguard: reply too large")

// Limits bound the replies a connection reads (the Options.MaxReply… fields,
// validated): a bulk string's length, the elements of one reply's
// aggregates, their depth and any line's length.
type Limits struct {
	Bulk, Elements, Depth, Line int64
}

// MaxLimit bounds every limit, so that a header's value checked digit by
// digit against one never overflows.
const MaxLimit = 1 << 50

// replyLimitError says which limit a server's reply broke.
type replyLimitError struct {
	server string
	what   string // what was over the limit, "a bulk string's length"
	field  string // the Options field
	limit  int64
}

func (e *replyLimitError) Error() string {
	return fmt.Sprintf("%v: %s sent %s over %d, the limit of Options.%s", ErrReplyTooLarge, e.server, e.what, e.limit, e.field)
}

func (e *replyLimitError) Is(target error) bool { return target == ErrReplyTooLarge }

// errMalformedReply is the error of a reply header that is not a number:
// go-redis would fail the connection on it as well, and the scanner cannot
// follow the replies after it.
var errMalformedReply = errors.New("redisguard: malformed reply")

// Scanner follows the RESP stream a connection reads, incrementally over
// whatever the reads return, and refuses a reply whose header declares more
// than its limits before the bytes of that header reach go-redis, which
// allocates for a header as soon as it has its line: a bulk string's length,
// an aggregate's elements (all of one reply's aggregates together, since each
// header reserves its elements at once), its depth, and any line's length. It
// reads only the headers and lines: a bulk string's body is skipped by count.
// A Scanner with its Limits set and nothing else is at the start of a reply.
// It is used by one reader at a time, as a connection's reads are.
type Scanner struct {
	// What Scan reads first, together: whether a read begins a reply.
	Limits *Limits
	skip   int64 // bytes of a bulk string's body and CRLF still to come
	// elems counts the elements the current reply's aggregates declared: it
	// is zero only when no aggregate is open.
	elems  int64
	err    error // the first limit broken; every later scan returns it
	inLine bool  // within a line (its first byte was seen)

	kind  byte  // the current line's type
	neg   bool  // the current header's value is negative
	digit bool  // the current header has a digit
	bad   bool  // the current header is not a number
	line  int64 // bytes of the current line so far
	num   int64 // the current header's value so far
	stack []openAggregate
}

// openAggregate is an aggregate of the current reply that is still open.
type openAggregate struct {
	left int64 // elements still to come
	attr bool  // an attribute, which precedes a reply and is not an element
}

// Scan follows p, the next bytes read, and returns an error when they break
// a limit: the reply containing them must not reach go-redis.
func (s *Scanner) Scan(p []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.skip == 0 && !s.inLine && s.elems == 0 && s.whole(p) {
		return nil
	}
	return s.scan(p)
}

// whole reports whether p, read at the start of a reply, is one whole reply
// within the limits in one of the commonest shapes: a bulk string (a GET's)
// or a line (an OK, a number, a null, an error). scan would take it and
// leave the scanner as it is, at the start of the next reply; whole costs
// less, and a reply to one command mostly comes in one read.
func (s *Scanner) whole(p []byte) bool {
	n := len(p)
	if n < 3 || p[n-1] != '\n' {
		return false
	}
	if p[0] == '$' {
		// "$", the length's digits, CRLF, the body and CRLF: the digits end
		// before the final LF at the latest.
		var num int64
		i := 1
		for ; i < n-1 && i <= maxFastDigits; i++ {
			d := p[i] - '0'
			if d > 9 {
				break
			}
			num = num*10 + int64(d)
		}
		return i > 1 && p[i] == '\r' && p[i+1] == '\n' && int64(n) == int64(i)+4+num &&
			num <= s.Limits.Bulk && int64(i+1) <= s.Limits.Line
	}
	switch p[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return int64(n-1) <= s.Limits.Line && bytes.IndexByte(p[:n-1], '\n') < 0
	}
	return false
}

// scan is Scan's general path: any bytes of any replies.
func (s *Scanner) scan(p []byte) error {
	for len(p) > 0 {
		if !s.inLine && s.skip == 0 {
			if n := s.bulkHeader(p); n > 0 {
				p = p[n:]
				continue
			}
		}
		if s.skip > 0 {
			if int64(len(p)) < s.skip {
				s.skip -= int64(len(p))
				return nil
			}
			p = p[s.skip:]
			s.skip = 0
			s.done()
			continue
		}
		if !s.inLine {
			s.inLine, s.kind, s.line, s.num, s.neg, s.digit, s.bad = true, p[0], 1, 0, false, false, false
			p = p[1:]
		}
		seg := p
		i := bytes.IndexByte(p, '\n')
		if i >= 0 {
			seg = p[:i]
		}
		s.line += int64(len(seg))
		if s.line > s.Limits.Line {
			s.err = &replyLimitError{what: "a line of a length", field: "MaxReplyLineBytes", limit: s.Limits.Line}
			return s.err
		}
		if isHeader(s.kind) {
			if err := s.digits(seg); err != nil {
				s.err = err
				return err
			}
		}
		if i < 0 {
			return nil
		}
		p = p[i+1:]
		if err := s.endLine(); err != nil {
			s.err = err
			return err
		}
	}
	return nil
}

// isHeader reports whether a line of type kind is followed by a body (a
// bulk string's) or elements (an aggregate's) whose size it gives.
// bulkHeader takes, at the start of p, the whole header of a bulk
// string within the limits ("$5\r\n", the reply to a GET), as the general
// path would, and returns its length; or 0, leaving anything else (a null, a
// header split between reads, one over a limit) to the general path. It
// saves a GET's reply the byte-by-byte walk of its header.
func (s *Scanner) bulkHeader(p []byte) int {
	if p[0] != '$' {
		return 0
	}
	var num int64
	i := 1
	for ; i < len(p) && i <= maxFastDigits && p[i] >= '0' && p[i] <= '9'; i++ {
		num = num*10 + int64(p[i]-'0')
	}
	if i == 1 || i+1 >= len(p) || p[i] != '\r' || p[i+1] != '\n' ||
		num > s.Limits.Bulk || int64(i+1) > s.Limits.Line {
		return 0
	}
	s.skip = num + 2
	return i + 2
}

// maxFastDigits bounds the length bulkHeader reads, so that the number
// cannot overflow: a longer one takes the general path.
const maxFastDigits = 18

func isHeader(kind byte) bool {
	switch kind {
	case '$', '=', '!', '*', '%', '~', '>', '|':
		return true
	}
	return false
}

// digits adds seg, part of the current header's line, to its value, and fails
// as soon as the value is over its limit, however many digits are still to come.
func (s *Scanner) digits(seg []byte) error {
	for _, b := range seg {
		switch {
		case b >= '0' && b <= '9' && !s.bad:
			s.num = s.num*10 + int64(b-'0')
			s.digit = true
			if s.neg {
				s.bad = s.num > 1 // only -1, a null, is a negative go-redis reads
			} else if err := s.overLimit(); err != nil {
				return err
			}
		case b == '\r':
		case (b == '-' || b == '+') && !s.digit && !s.neg:
			s.neg = b == '-'
		default:
			s.bad = true
		}
	}
	return nil
}

// endLine ends the current line: a header opens the body or the elements it
// declares, any other line is an element.
func (s *Scanner) endLine() error {
	kind := s.kind
	if !isHeader(kind) {
		s.inLine = false
		s.done()
		return nil
	}
	if s.bad || !s.digit {
		return fmt.Errorf("%w: %q header", errMalformedReply, kind)
	}
	if err := s.overLimit(); err != nil {
		return err
	}
	s.inLine = false
	if s.neg && s.num == 1 {
		s.done() // a null
		return nil
	}
	// -0 is 0 to go-redis: an empty body or aggregate.
	switch kind {
	case '$', '=', '!':
		s.skip = s.num + 2
		return nil
	}
	n := s.num
	if kind == '%' || kind == '|' {
		n *= 2
	}
	if n == 0 {
		if kind != '|' {
			s.done()
		}
		return nil
	}
	s.elems += n
	s.stack = append(s.stack, openAggregate{left: n, attr: kind == '|'})
	return nil
}

// overLimit checks the current header's value against its limits.
func (s *Scanner) overLimit() error {
	if s.neg {
		return nil
	}
	switch s.kind {
	case '$', '=', '!':
		if s.num > s.Limits.Bulk {
			return &replyLimitError{what: "a bulk string's length", field: "MaxReplyBulkBytes", limit: s.Limits.Bulk}
		}
		return nil
	}
	n := s.num
	if s.kind == '%' || s.kind == '|' {
		n *= 2
	}
	if s.elems+n > s.Limits.Elements {
		return &replyLimitError{what: "aggregates whose elements in one reply add up", field: "MaxReplyElements", limit: s.Limits.Elements}
	}
	if n > 0 && int64(len(s.stack)) >= s.Limits.Depth {
		return &replyLimitError{what: "aggregates nested", field: "MaxReplyDepth", limit: s.Limits.Depth}
	}
	return nil
}

// done ends an element: of the innermost open aggregate, which it may close
// in turn, or a whole reply.
func (s *Scanner) done() {
	for len(s.stack) > 0 {
		top := &s.stack[len(s.stack)-1]
		if top.left--; top.left > 0 {
			return
		}
		attr := top.attr
		s.stack = s.stack[:len(s.stack)-1]
		if attr {
			return // the reply it precedes is still to come
		}
	}
	s.elems = 0
}

// Fail returns the error of the limit broken, with the server's address, as
// a read error of the connection (so that go-redis discards it, and the
// client takes the connection for broken), for this read and every later one:
// go-redis may ignore an error while it peeks for push notifications.
func (s *Scanner) Fail(conn net.Conn, server string) error {
	err := s.err
	if le, ok := err.(*replyLimitError); ok {
		if le.server == "" {
			le.server = server
		}
	} else {
		err = fmt.Errorf("%w from %s", err, server)
	}
	return &net.OpError{Op: "read", Net: conn.RemoteAddr().Network(), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: err}
}

// Failed reports whether a limit was broken: every later Scan fails.
func (s *Scanner) Failed() bool { return s.err != nil }

// limitedConn holds a connection the client does not otherwise wrap (a
// sentinel's) to the client's reply limits.
type limitedConn struct {
	net.Conn
	replies Scanner
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.replies.err != nil {
		return 0, c.replies.Fail(c.Conn, c.RemoteAddr().String())
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.replies.Scan(p[:n]) != nil {
		return 0, c.replies.Fail(c.Conn, c.RemoteAddr().String())
	}
	return n, err
}

// LimitedDialer dials with dial and holds every connection to lim.
func LimitedDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), lim *Limits) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &limitedConn{Conn: conn, replies: Scanner{Limits: lim}}, nil
	}
}
