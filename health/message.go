package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/breaker"
)

// maxReplyLen bounds the Redis error reply quoted in a message.
const maxReplyLen = 120

// describe turns the error of a check into a few words fit for a response
// body. The raw text of a network error names the address dialed ("dial tcp
// 10.1.2.3:6379: connect: connection refused"), so only what an operator
// needs is kept: the kind of failure, or the text of a Redis error reply.
// An error nothing here recognises gives "PING failed".
func describe(err error) string {
	var (
		timeout  *timeoutError
		notReady *notReadyError
		noAnswer *noNodeAnsweredError
		panicked *pingPanicError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &noAnswer):
		// Each node says why it did not answer in the nodes' own answers;
		// the first one's reason stands for all.
		if len(noAnswer.errs) > 0 {
			if reason := nodeReason(noAnswer.errs[0]); reason != "" {
				return "no node answered: " + reason
			}
		}
		return "no node answered"
	case errors.As(err, &notReady):
		return withCause("client not ready ("+notReady.state.String()+")", notReady.cause)
	case errors.As(err, &timeout):
		return "timeout after " + timeout.after.String()
	case errors.As(err, &panicked):
		return "PING panicked"
	case errors.Is(err, ErrNoClient):
		return strings.TrimPrefix(err.Error(), "health: ") // "no Redis client: Readiness got a nil *redis.Client"
	case errors.Is(err, redisguard.ErrMaxRetriesReached):
		return withCause("client closed: reconnect retries exhausted", err)
	case errors.Is(err, redisguard.ErrClosed), errors.Is(err, redis.ErrClosed):
		return "client closed"
	case errors.Is(err, redisguard.ErrNotReady):
		return "client not ready"
	case errors.Is(err, breaker.ErrOpen):
		return "circuit breaker open"
	case errors.Is(err, redisguard.ErrQueueFull):
		return "command queue full"
	case errors.Is(err, redis.ErrPoolTimeout):
		return "connection pool timeout"
	case errors.Is(err, context.Canceled):
		return "check canceled"
	}
	if cause := failure(err); cause != "" {
		return cause
	}
	return "PING failed"
}

// withCause appends to msg what failure says of cause, if anything: the
// reason a client could not connect, such as "authentication failed" or
// "TLS: certificate signed by unknown authority".
func withCause(msg string, cause error) string {
	if cause == nil {
		return msg
	}
	if f := failure(cause); f != "" {
		return msg + ": " + f
	}
	return msg
}

// failure names what went wrong on the network or on the server: a timeout,
// an error reply, a refused password, DNS, TLS, a refused or closed
// connection. It returns "" for an error it does not recognise.
func failure(err error) string {
	var (
		reply  redis.Error
		dnsErr *net.DNSError
		errno  syscall.Errno
		opErr  *net.OpError
	)
	switch {
	case isTimeout(err):
		return "timeout"
	case errors.As(err, &reply) && isAuthReply(reply.Error()):
		return "authentication failed: " + replyText(reply.Error())
	case errors.As(err, &reply):
		return replyText(reply.Error())
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, redisguard.ErrServerNotTLS):
		return "TLS: the server does not speak TLS"
	case isTLSError(err):
		return tlsText(err)
	case errors.As(err, &errno):
		return errno.Error() // "connection refused", "connection reset by peer", …
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.As(err, &opErr):
		return "network error (" + opErr.Op + ")"
	default:
		return ""
	}
}

// isAuthReply reports whether an error reply refuses the client's
// credentials: a wrong password or user, or none given where one is needed.
func isAuthReply(msg string) bool {
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "ERR invalid password")
}

// replyText keeps the first line of a Redis error reply, without the
// arguments an "unknown command" reply echoes (they could hold a password:
// an old server echoes HELLO … AUTH user password), at most maxReplyLen bytes.
func replyText(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	msg, _, _ = strings.Cut(msg, ", with args beginning with")
	msg = strings.TrimSpace(msg)
	if len(msg) > maxReplyLen {
		msg = strings.ToValidUTF8(msg[:maxReplyLen], "") + "…"
	}
	return msg
}

// isTLSError reports whether err comes from a TLS handshake: an untrusted or
// mismatched certificate, an alert from the server, or a server that does not
// speak TLS. The messages of these errors may name the host.
func isTLSError(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		header tls.RecordHeaderError
		alert  tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert)
}

// tlsText says why a TLS handshake failed, in the words of the certificate
// check when it failed: their full text may name the host.
func tlsText(err error) string {
	var (
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &authority):
		return "TLS: certificate signed by unknown authority"
	case errors.As(err, &hostname):
		return "TLS: certificate not valid for the server's name"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS: certificate expired or not yet valid"
	case errors.As(err, &invalid):
		return "TLS: certificate invalid"
	default:
		return "TLS handshake failed"
	}
}
