package redisguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
)

// ErrReplyTooLarge is the error of a connection whose server sent a reply
// declaring more than the Options.MaxReply… limits allow: a bulk string, an
// aggregate, a nesting or a line too large. The connection is failed before
// go-redis allocates for the reply; the error wrapping it names the server and
// the limit.
var ErrReplyTooLarge = errors.New("redisguard: reply too large")

// Defaults of the reply limits, none of which a legitimate reply reaches in
// practice.
const (
	// DefaultMaxReplyBulkBytes is Redis's own proto-max-bulk-len.
	DefaultMaxReplyBulkBytes = 512 << 20
	// DefaultMaxReplyElements lets the aggregates of one reply reserve no more
	// than 512 MiB between them (go-redis holds each element in a 16-byte
	// interface).
	DefaultMaxReplyElements = 32 << 20
	// DefaultMaxReplyDepth is far deeper than any reply of Redis (a Lua table
	// converts to a few levels; hiredis long stopped at 7).
	DefaultMaxReplyDepth = 512
	// DefaultMaxReplyLineBytes bounds a status, error, number or header line.
	DefaultMaxReplyLineBytes = 1 << 20
)

// maxReplyLimit bounds every limit, so that a header's value checked digit by
// digit against one never overflows.
const maxReplyLimit = 1 << 50

// replyLimits are the Options.MaxReply… limits, validated.
type replyLimits struct {
	bulk, elements, depth, line int64
}

// replyLimits validates the Options.MaxReply… fields: zero means the default.
func (o *Options) replyLimits() (replyLimits, []error) {
	var errs []error
	l := replyLimits{bulk: o.MaxReplyBulkBytes, elements: o.MaxReplyElements, depth: int64(o.MaxReplyDepth), line: int64(o.MaxReplyLineBytes)}
	for _, f := range []struct {
		field string
		value *int64
		def   int64
	}{
		{"MaxReplyBulkBytes", &l.bulk, DefaultMaxReplyBulkBytes},
		{"MaxReplyElements", &l.elements, DefaultMaxReplyElements},
		{"MaxReplyDepth", &l.depth, DefaultMaxReplyDepth},
		{"MaxReplyLineBytes", &l.line, DefaultMaxReplyLineBytes},
	} {
		switch {
		case *f.value < 0 || *f.value > maxReplyLimit:
			errs = append(errs, optionErrorf(f.field, "is %d: it must be between 1 and %d (0 means %d)", *f.value, int64(maxReplyLimit), f.def))
		case *f.value == 0:
			*f.value = f.def
		}
	}
	if l.line < 16 {
		// A line must hold any header within the other limits.
		errs = append(errs, optionErrorf("MaxReplyLineBytes", "is %d: it must be at least 16, to hold a header", l.line))
	}
	return l, errs
}

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

// replyScanner follows the RESP stream a connection reads, incrementally over
// whatever the reads return, and refuses a reply whose header declares more
// than its limits before the bytes of that header reach go-redis, which
// allocates for a header as soon as it has its line: a bulk string's length,
// an aggregate's elements (all of one reply's aggregates together, since each
// header reserves its elements at once), its depth, and any line's length. It
// reads only the headers and lines: a bulk string's body is skipped by count.
// The zero scanner, with its limits set, is at the start of a reply. It is
// used by one reader at a time, as a connection's reads are.
type replyScanner struct {
	lim    *replyLimits
	skip   int64 // bytes of a bulk string's body and CRLF still to come
	line   int64 // bytes of the current line so far
	num    int64 // the current header's value so far
	elems  int64 // elements the current reply's aggregates declared
	kind   byte  // the current line's type
	inLine bool  // within a line (its first byte was seen)
	neg    bool  // the current header's value is negative
	digit  bool  // the current header has a digit
	bad    bool  // the current header is not a number
	err    error // the first limit broken; every later scan returns it
	stack  []openAggregate
}

// openAggregate is an aggregate of the current reply that is still open.
type openAggregate struct {
	left int64 // elements still to come
	attr bool  // an attribute, which precedes a reply and is not an element
}

// scan follows p, the next bytes read, and returns an error when they break
// a limit: the reply containing them must not reach go-redis.
func (s *replyScanner) scan(p []byte) error {
	if s.err != nil {
		return s.err
	}
	for len(p) > 0 {
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
		if s.line > s.lim.line {
			s.err = &replyLimitError{what: "a line of a length", field: "MaxReplyLineBytes", limit: s.lim.line}
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
func isHeader(kind byte) bool {
	switch kind {
	case '$', '=', '!', '*', '%', '~', '>', '|':
		return true
	}
	return false
}

// digits adds seg, part of the current header's line, to its value, and fails
// as soon as the value is over its limit, however many digits are still to come.
func (s *replyScanner) digits(seg []byte) error {
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
func (s *replyScanner) endLine() error {
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
func (s *replyScanner) overLimit() error {
	if s.neg {
		return nil
	}
	switch s.kind {
	case '$', '=', '!':
		if s.num > s.lim.bulk {
			return &replyLimitError{what: "a bulk string's length", field: "MaxReplyBulkBytes", limit: s.lim.bulk}
		}
		return nil
	}
	n := s.num
	if s.kind == '%' || s.kind == '|' {
		n *= 2
	}
	if s.elems+n > s.lim.elements {
		return &replyLimitError{what: "aggregates whose elements in one reply add up", field: "MaxReplyElements", limit: s.lim.elements}
	}
	if n > 0 && int64(len(s.stack)) >= s.lim.depth {
		return &replyLimitError{what: "aggregates nested", field: "MaxReplyDepth", limit: s.lim.depth}
	}
	return nil
}

// done ends an element: of the innermost open aggregate, which it may close
// in turn, or a whole reply.
func (s *replyScanner) done() {
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

// fail returns the error of the limit broken, with the server's address, as
// a read error of the connection (so that go-redis discards it, and the
// client takes the connection for broken), for this read and every later one:
// go-redis may ignore an error while it peeks for push notifications.
func (s *replyScanner) fail(conn net.Conn, server string) error {
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

// limitedConn holds a connection the client does not otherwise wrap (a
// sentinel's) to the client's reply limits.
type limitedConn struct {
	net.Conn
	replies replyScanner
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.replies.err != nil {
		return 0, c.replies.fail(c.Conn, c.RemoteAddr().String())
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.replies.scan(p[:n]) != nil {
		return 0, c.replies.fail(c.Conn, c.RemoteAddr().String())
	}
	return n, err
}

// limitedDialer dials with dial and holds every connection to lim.
func limitedDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), lim *replyLimits) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &limitedConn{Conn: conn, replies: replyScanner{lim: lim}}, nil
	}
}
