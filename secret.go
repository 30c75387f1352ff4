package redisguard

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redact"
)

// Redact returns s with every credential the client was given replaced by
// xxxxx: the passwords of its options or URL (and of its sentinels), the
// password its PasswordFile held when New read it, and a username given with
// a password (but not "default"), each also as it would appear escaped. Use it
// on any text that may quote a server, which may quote the client's own
// credentials back (an error reply of a proxy, say); the client does so itself
// in its events, logs and health answers.
func (c *Client) Redact(s string) string { return redact.Text(s, c.secrets...) }

// secrets are the credentials of a client built from o with username and
// password: those, and the password o's PasswordFile holds now.
func (o *Options) secrets(username, password string) []string {
	if o.PasswordFile != "" {
		if pw, err := readPasswordFile(o.PasswordFile); err == nil {
			password = pw
		}
	}
	return redact.Credentials(username, password)
}

// clientSecrets are the credentials of a client the application built.
func clientSecrets(rdb redis.UniversalClient) []string {
	switch r := rdb.(type) {
	case *redis.Client:
		if r != nil {
			return redact.Credentials(r.Options().Username, r.Options().Password)
		}
	case *redis.ClusterClient:
		if r != nil {
			return redact.Credentials(r.Options().Username, r.Options().Password)
		}
	}
	return nil
}

// readPasswordFile returns the password held in path, without trailing newlines.
func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return pw, nil
}

// passwordFileCredentials re-reads the file for every new connection, so a rotated
// Kubernetes Secret takes effect without restarting the service.
func passwordFileCredentials(username, path string) func(context.Context) (string, string, error) {
	return func(context.Context) (string, string, error) {
		pw, err := readPasswordFile(path)
		if err != nil {
			return "", "", fmt.Errorf("redisguard: PasswordFile: %w", err)
		}
		return username, pw, nil
	}
}

// redactErr returns err, or an error with its message cleaned of the client's
// passwords when it holds one.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := redact.Text(msg, c.secrets...); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError is an error whose message had a password in it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() error { return e.err }
