package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// unauthenticated is what a connection opened without credentials found.
type unauthenticated struct {
	err      error    // the connection could not be opened or gave no answer
	accepted bool     // PING answered PONG
	refusal  string   // the error reply when not accepted: "NOAUTH Authentication required."
	tls      bool     // the connection is TLS
	remote   net.Addr // the server's end of the connection
}

// pingCommand is PING encoded as a RESP array.
const pingCommand = "*1\r\n$4\r\nPING\r\n"

// maxRefusal bounds how much of an error reply is kept.
const maxRefusal = 120

// openWithoutCredentials opens a connection as the client would, through
// its dialer (so TLS and Sentinel's choice of master apply) but without
// authenticating, sends PING and reads the first line of the answer. It
// returns within timeout even if the dialer ignores contexts; the
// connection is then closed when the dial ends.
func openWithoutCredentials(ctx context.Context, opt *redis.Options, timeout time.Duration) unauthenticated {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan unauthenticated, 1)
	go func() { done <- pingWithoutCredentials(ctx, opt) }()
	select {
	case u := <-done:
		return u
	case <-ctx.Done():
		return unauthenticated{err: fmt.Errorf("a connection without credentials: no answer within %v", timeout.Round(time.Millisecond))}
	}
}

func pingWithoutCredentials(ctx context.Context, opt *redis.Options) unauthenticated {
	dial := opt.Dialer
	if dial == nil {
		dial = redis.NewDialer(opt)
	}
	conn, err := dial(ctx, opt.Network, opt.Addr)
	if err != nil {
		return unauthenticated{err: fmt.Errorf("a connection without credentials: %w", err)}
	}
	defer conn.Close()
	u := unauthenticated{remote: conn.RemoteAddr()}
	_, u.tls = conn.(*tls.Conn)
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			u.err = err
			return u
		}
	}
	if _, err := conn.Write([]byte(pingCommand)); err != nil {
		u.err = fmt.Errorf("a connection without credentials: %w", err)
		return u
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if isTimeout(err) {
			err = errors.New("no answer to PING")
		}
		u.err = fmt.Errorf("a connection without credentials: %w", err)
		return u
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case line == "+PONG":
		u.accepted = true
	case strings.HasPrefix(line, "-"):
		u.refusal = truncate(line[1:], maxRefusal)
	default:
		u.err = fmt.Errorf("a connection without credentials: unexpected answer to PING %q", truncate(line, maxRefusal))
	}
	return u
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
