package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// connection is how to reach the server(s), from the flags and the URL.
type connection struct {
	raw            string
	cluster        bool
	master         string
	passwordFile   string
	tlsCA          string
	commandTimeout time.Duration
}

// auditPoolSize is how many connections the audit may hold to one server:
// its commands run one at a time.
const auditPoolSize = 2

// newClient builds the go-redis client the audit runs on. It also returns
// the URL as messages may show it, and the secrets it was given, which no
// output may show.
func newClient(c connection) (rdb redis.UniversalClient, display string, secrets []string, err error) {
	u, err := parseURL(c.raw)
	if err != nil {
		return nil, "", nil, err
	}
	secrets = urlSecrets(u)
	display = displayURL(u)
	password, err := readPasswordFile(c.passwordFile)
	if err != nil {
		return nil, display, secrets, err
	}
	secrets = append(secrets, password)
	ca, err := loadCA(c.tlsCA)
	if err != nil {
		return nil, display, secrets, err
	}
	if c.cluster && c.master != "" {
		return nil, display, secrets, errors.New("-cluster and -master exclude each other")
	}
	master := c.master
	if master == "" {
		master = u.Query().Get("master_name")
	}
	settings := func(pw *string, tlsConfig **tls.Config, l limits) error {
		if err := setPassword(pw, password); err != nil {
			return err
		}
		*tlsConfig = withCA(*tlsConfig, ca)
		l.apply(c.commandTimeout)
		return nil
	}
	switch {
	case c.cluster:
		o, err := redis.ParseClusterURL(c.raw)
		if err == nil {
			err = settings(&o.Password, &o.TLSConfig, limits{
				&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
				&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.ContextTimeoutEnabled, &o.DisableIdentity,
			})
		}
		if err != nil {
			return nil, display, secrets, err
		}
		return redis.NewClusterClient(o), display, secrets, nil
	case master != "":
		o, err := redis.ParseFailoverURL(c.raw)
		if err == nil {
			o.MasterName = master
			err = settings(&o.Password, &o.TLSConfig, limits{
				&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
				&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.ContextTimeoutEnabled, &o.DisableIdentity,
			})
		}
		if err != nil {
			return nil, display, secrets, err
		}
		return redis.NewFailoverClient(o), display, secrets, nil
	}
	o, err := redis.ParseURL(c.raw)
	if err == nil {
		err = settings(&o.Password, &o.TLSConfig, limits{
			&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.ContextTimeoutEnabled, &o.DisableIdentity,
		})
	}
	if err != nil {
		return nil, display, secrets, err
	}
	return redis.NewClient(o), display, secrets, nil
}

// limits points at the fields of a go-redis options struct (standalone,
// failover or cluster) that bound a command.
type limits struct {
	dialTimeout, readTimeout, writeTimeout, poolTimeout *time.Duration
	maxRetries, dialerRetries, poolSize                 *int
	contextTimeout, disableIdentity                     *bool
}

// apply bounds every command, dial and pool wait by timeout, with no retry:
// whatever the URL said, an unreachable or paused server ends the audit
// within its bound.
func (l limits) apply(timeout time.Duration) {
	*l.dialTimeout, *l.readTimeout, *l.writeTimeout, *l.poolTimeout = timeout, timeout, timeout, timeout
	*l.maxRetries, *l.dialerRetries, *l.poolSize = -1, 1, auditPoolSize
	*l.contextTimeout, *l.disableIdentity = true, true
}

// setPassword puts the password from -password-file in place, refusing a
// second one from the URL.
func setPassword(field *string, fromFile string) error {
	switch {
	case fromFile == "":
		return nil
	case *field != "":
		return errors.New("-password-file is set, and so is a password in the URL: use one")
	}
	*field = fromFile
	return nil
}

// readPasswordFile returns the password held in path, without trailing
// newlines; "" when path is "".
func readPasswordFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("-password-file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("-password-file: %s is empty", path)
	}
	return pw, nil
}

// loadCA returns a TLS configuration trusting the PEM certificates in path,
// or nil when path is "".
func loadCA(path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-tls-ca: %s holds no PEM certificate", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// withCA adds the trusted certificates of ca to the URL's TLS
// configuration, turning TLS on when the URL did not (redis:// with
// -tls-ca). The server name is left to the dialer, which takes it from each
// node's address.
func withCA(fromURL, ca *tls.Config) *tls.Config {
	switch {
	case ca == nil:
		return fromURL
	case fromURL == nil:
		return ca
	}
	merged := fromURL.Clone()
	merged.RootCAs = ca.RootCAs
	return merged
}
