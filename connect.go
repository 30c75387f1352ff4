package redisguard

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keep-alive probing after the idle time: every 5 s, and 3 unanswered probes
// close the connection (go-redis's own defaults).
const (
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
)

// retryPolicy is the budget of the client's safe retries, read from go-redis's
// MaxRetries, MinRetryBackoff and MaxRetryBackoff with go-redis's defaults.
type retryPolicy struct {
	max        int
	minBackoff time.Duration
	maxBackoff time.Duration
	// busy: replies refusing a command without executing it (LOADING, …) are
	// retried here. A cluster client retries those itself.
	busy bool
}

// clusterRetries is the policy of a cluster client, read from its normalized
// options: the cluster retries on its own, up to MaxRedirects, made safe by
// nodeHook, so the guard only waits for the supervisor on the cluster's behalf.
func clusterRetries(cc *redis.ClusterClient) retryPolicy {
	o := cc.Options()
	return retryPolicy{max: o.MaxRedirects, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff}
}

// backoff returns the wait before retry n (1 for the first), as go-redis computes
// it: a random point between minBackoff and minBackoff·2^n, capped at maxBackoff.
func (p retryPolicy) backoff(n int) time.Duration {
	if p.minBackoff <= 0 {
		return 0
	}
	d := p.minBackoff << uint(min(n, 30))
	if d <= p.minBackoff {
		return p.maxBackoff
	}
	d = p.minBackoff + rand.N(d-p.minBackoff)
	return min(d, p.maxBackoff)
}

// connFields points at the fields shared by redis.Options and
// redis.UniversalOptions that New adjusts, so both are handled by one function.
type connFields struct {
	username            string
	password            *string
	credentialsProvider bool // CredentialsProvider, its Context or Streaming form is set
	credentials         *func(context.Context) (string, string, error)
	dialer              *func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout         *time.Duration
	tlsConfig           *tls.Config
	maxRetries          *int
	minRetryBackoff     *time.Duration
	maxRetryBackoff     *time.Duration
	contextTimeout      *bool
}

// newUniversalClient builds the go-redis client that New guards.
func (o *Options) newUniversalClient(cfg config) (redis.UniversalClient, retryPolicy, []error) {
	if o.URL != "" && o.Redis != nil {
		return nil, retryPolicy{}, []error{optionErrorf("URL", "and Options.Redis are both set: use one of them")}
	}
	if o.URL != "" {
		u, err := parseURL(o.URL)
		if err != nil {
			return nil, retryPolicy{}, []error{err}
		}
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			pw, _ := u.User.Password()
			return nil, retryPolicy{}, []error{optionErrorf("URL", "%q: %s", displayURL(o.URL), redact(err.Error(), pw, rawURLPassword(o.URL)))}
		}
		retry, errs := o.adjust(cfg, connFields{
			username:            opt.Username,
			password:            &opt.Password,
			credentialsProvider: opt.CredentialsProvider != nil || opt.CredentialsProviderContext != nil || opt.StreamingCredentialsProvider != nil,
			credentials:         &opt.CredentialsProviderContext,
			dialer:              &opt.Dialer,
			dialTimeout:         &opt.DialTimeout,
			tlsConfig:           opt.TLSConfig,
			maxRetries:          &opt.MaxRetries,
			minRetryBackoff:     &opt.MinRetryBackoff,
			maxRetryBackoff:     &opt.MaxRetryBackoff,
			contextTimeout:      &opt.ContextTimeoutEnabled,
		}, "URL")
		errs = append(errs, checkRedisLimits("URL", urlLimits(opt))...)
		if errs != nil {
			return nil, retryPolicy{}, errs
		}
		return redis.NewClient(opt), retry, nil
	}

	var uo redis.UniversalOptions
	if o.Redis != nil {
		uo = *o.Redis
	}
	retry, errs := o.adjust(cfg, connFields{
		username:            uo.Username,
		password:            &uo.Password,
		credentialsProvider: uo.CredentialsProvider != nil || uo.CredentialsProviderContext != nil || uo.StreamingCredentialsProvider != nil,
		credentials:         &uo.CredentialsProviderContext,
		dialer:              &uo.Dialer,
		dialTimeout:         &uo.DialTimeout,
		tlsConfig:           uo.TLSConfig,
		maxRetries:          &uo.MaxRetries,
		minRetryBackoff:     &uo.MinRetryBackoff,
		maxRetryBackoff:     &uo.MaxRetryBackoff,
		contextTimeout:      &uo.ContextTimeoutEnabled,
	}, "Redis")
	errs = append(errs, checkRedisLimits("Redis", universalLimits(&uo))...)
	if errs != nil {
		return nil, retryPolicy{}, errs
	}
	rdb := redis.NewUniversalClient(&uo)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		retry = clusterRetries(cc)
	}
	return rdb, retry, nil
}

// adjust applies PasswordFile, the keep-alive dialer and the connect timeout,
// turns go-redis's retries off, keeping their budget for the safe retries, and
// makes a command's context deadline bound its wait on the socket, so that a
// caller's time budget (the cache's, say) holds against a slow server.
func (o *Options) adjust(cfg config, f connFields, source string) (retryPolicy, []error) {
	var errs []error
	if o.PasswordFile != "" {
		switch {
		case *f.password != "":
			errs = append(errs, optionErrorf("PasswordFile", "is set and so is a password in Options.%s: use one of them", source))
		case f.credentialsProvider:
			errs = append(errs, optionErrorf("PasswordFile", "is set and so is a credentials provider in Options.%s: use one of them", source))
		default:
			if _, err := readPasswordFile(o.PasswordFile); err != nil {
				errs = append(errs, optionErrorf("PasswordFile", "%v", err))
			}
			*f.credentials = passwordFileCredentials(f.username, o.PasswordFile)
		}
	}
	if *f.dialTimeout < 0 {
		errs = append(errs, optionErrorf(source+".DialTimeout", "is %v: it must not be negative", *f.dialTimeout))
	}
	if *f.dialTimeout == 0 {
		*f.dialTimeout = cfg.connectTimeout
	}
	if *f.dialer == nil {
		*f.dialer = newDialer(*f.dialTimeout, o.KeepAlive, f.tlsConfig)
	}

	retry := retryPolicy{max: *f.maxRetries, minBackoff: *f.minRetryBackoff, maxBackoff: *f.maxRetryBackoff, busy: true}
	switch {
	case retry.max < -1:
		errs = append(errs, optionErrorf(source+".MaxRetries", "is %d: use -1 for no retries", retry.max))
	case retry.max == -1:
		retry.max = 0
	case retry.max == 0:
		retry.max = 3
	}
	switch retry.minBackoff {
	case -1:
		retry.minBackoff = 0
	case 0:
		retry.minBackoff = 10 * time.Millisecond
	}
	switch retry.maxBackoff {
	case -1:
		retry.maxBackoff = 0
	case 0:
		retry.maxBackoff = time.Second
	}
	if retry.minBackoff < 0 || retry.maxBackoff < 0 {
		errs = append(errs, optionErrorf(source+".MinRetryBackoff", "and MaxRetryBackoff must not be negative (-1 turns backoff off)"))
	}
	*f.maxRetries = -1
	*f.contextTimeout = true
	return retry, errs
}

// newDialer dials TCP (and TLS when configured, telling a plaintext port
// apart: see tlsDialer) with the configured keep-alive.
func newDialer(timeout, keepAlive time.Duration, tlsConfig *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: timeout}
	switch {
	case keepAlive < 0:
		nd.KeepAlive = -1
	default:
		if keepAlive == 0 {
			keepAlive = DefaultKeepAlive
		}
		nd.KeepAliveConfig = net.KeepAliveConfig{
			Enable:   true,
			Idle:     keepAlive,
			Interval: keepAliveInterval,
			Count:    keepAliveCount,
		}
	}
	if tlsConfig == nil {
		return nd.DialContext
	}
	td := &tlsDialer{net: nd, config: tlsConfig}
	return td.DialContext
}
