package redisguard

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/redact"
	"github.com/redisguard/redisguard/internal/tlsdial"
	"github.com/redisguard/redisguard/internal/wire"
)

// Keep-alive probing after the idle time: every 5 s, and 3 unanswered probes
// close the connection (go-redis's own defaults).
const (
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
)

// sentinelQueryTimeout bounds one question to one sentinel: a sentinel answers
// at once, and a frozen one must not hold a reconnect attempt.
const sentinelQueryTimeout = 500 * time.Millisecond

// built is the go-redis client New builds from the options, with what the
// guard needs to know about it.
type built struct {
	rdb      redis.UniversalClient
	retry    retryPolicy
	secrets  []string
	sentinel *sentinelConfig       // a Sentinel client: the sentinels to ask
	cluster  *redis.ClusterOptions // a cluster client: its options
	gate     *networkGate          // a client with a client-side cache: its Limiter
}

func (b built) close() {
	if b.rdb != nil {
		_ = b.rdb.Close()
	}
}

// build builds the go-redis client that New guards.
func (o *Options) build(cfg config) (built, []error) {
	if err := o.oneSource(); err != nil {
		return built{}, []error{err}
	}
	switch {
	case o.URL != "":
		u, err := parseURL(o.URL)
		if err != nil {
			return built{}, []error{err}
		}
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			pw, _ := u.User.Password()
			return built{}, []error{optionErrorf("URL", "%q: %s", redact.URL(o.URL), redact.Text(err.Error(), append(redact.QuerySecrets(o.URL), pw, redact.RawURLPassword(o.URL))...))}
		}
		if err := checkProtocol("URL", opt.Protocol); err != nil {
			return built{}, []error{err}
		}
		if errs := checkRedisLimits("URL", urlLimits(opt)); errs != nil {
			return built{}, errs
		}
		return o.buildSimple(cfg, opt, "URL")
	case o.Cluster != nil:
		co := *o.Cluster
		if errs := checkRedisLimits("Cluster", clusterLimits(&co)); errs != nil {
			return built{}, errs
		}
		if err := checkProtocol("Cluster", co.Protocol); err != nil {
			return built{}, []error{err}
		}
		return o.buildCluster(cfg, &co, "Cluster")
	}
	var uo redis.UniversalOptions
	if o.Redis != nil {
		uo = *o.Redis
	}
	if errs := checkRedisLimits("Redis", universalLimits(&uo)); errs != nil {
		return built{}, errs
	}
	if err := checkProtocol("Redis", uo.Protocol); err != nil {
		return built{}, []error{err}
	}
	switch {
	case uo.MasterName != "":
		return o.buildSentinel(cfg, &uo)
	case len(uo.Addrs) > 1 || uo.IsClusterMode:
		return o.buildCluster(cfg, uo.Cluster(), "Redis")
	}
	return o.buildSimple(cfg, uo.Simple(), "Redis")
}

func (o *Options) buildSimple(cfg config, opt *redis.Options, source string) (built, []error) {
	retry, errs := o.adjust(cfg, simpleFields(opt), source)
	if apo := opt.AutoPipelineOptions; apo != nil && apo.FullDuplex {
		errs = append(errs, optionErrorf(source+".AutoPipelineOptions.FullDuplex", "is set: %v", ErrFullDuplex))
	}
	if len(errs) > 0 {
		return built{}, errs
	}
	retry.busy = true
	var gate *networkGate
	if cachesReads(opt) {
		gate = gateNetwork(opt) // before go-redis reads the options
	}
	return built{rdb: redis.NewClient(opt), retry: retry, secrets: o.secrets(opt.Username, opt.Password), gate: gate}, nil
}

func (o *Options) buildCluster(cfg config, co *redis.ClusterOptions, source string) (built, []error) {
	_, errs := o.adjust(cfg, clusterFields(co), source)
	if len(co.Addrs) == 0 {
		errs = append(errs, optionErrorf(source+".Addrs", "is empty: a cluster client needs at least one seed address"))
	}
	if apo := co.AutoPipelineOptions; apo != nil && apo.FullDuplex {
		errs = append(errs, optionErrorf(source+".AutoPipelineOptions.FullDuplex", "is set: %v", ErrFullDuplex))
	}
	if len(errs) > 0 {
		return built{}, errs
	}
	cc := redis.NewClusterClient(co)
	return built{rdb: cc, retry: clusterRetries(cc), secrets: o.secrets(co.Username, co.Password), cluster: co}, nil
}

// buildSentinel builds a Sentinel client: a go-redis client whose dials go to
// the master the client's sentinelSet found (see Client.startSentinel).
func (o *Options) buildSentinel(cfg config, uo *redis.UniversalOptions) (built, []error) {
	var errs []error
	if uo.RouteByLatency || uo.RouteRandomly || uo.IsClusterMode {
		errs = append(errs, optionErrorf("Redis.MasterName", "is set with RouteByLatency, RouteRandomly or IsClusterMode, which the client does not support with Sentinel"))
	}
	if len(uo.Addrs) == 0 {
		errs = append(errs, optionErrorf("Redis.Addrs", "is empty: with MasterName it lists the sentinels"))
	}
	sentinels := uo.Addrs
	opt := uo.Simple()
	opt.Addr = "sentinel:" + uo.MasterName
	b, adjustErrs := o.buildSimple(cfg, opt, "Redis")
	if errs = append(errs, adjustErrs...); len(errs) > 0 {
		b.close()
		return built{}, errs
	}
	limits := cfg.limits
	b.sentinel = &sentinelConfig{
		masterName: uo.MasterName,
		addrs:      sentinels,
		base: &redis.Options{
			Dialer:                wire.LimitedDialer(opt.Dialer, &limits),
			Username:              uo.SentinelUsername,
			Password:              uo.SentinelPassword,
			TLSConfig:             uo.TLSConfig,
			DialTimeout:           min(cfg.connectTimeout, time.Second),
			ReadTimeout:           sentinelQueryTimeout,
			WriteTimeout:          sentinelQueryTimeout,
			ContextTimeoutEnabled: true,
			MaxRetries:            -1,
			DialerRetries:         1,
			DisableIdentity:       uo.DisableIdentity,
			PoolSize:              2,
		},
	}
	b.secrets = append(b.secrets, redact.Credentials(uo.SentinelUsername, uo.SentinelPassword)...)
	return b, nil
}

// connFields points at the fields shared by redis.Options and
// redis.ClusterOptions that New adjusts, so both are handled by one function.
type connFields struct {
	username            string
	password            *string
	credentialsProvider bool // CredentialsProvider, its Context or Streaming form is set
	credentials         *func(context.Context) (string, string, error)
	dialer              *func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout         *time.Duration
	dialerRetries       *int
	tlsConfig           *tls.Config
	maxRetries          *int
	minRetryBackoff     *time.Duration
	maxRetryBackoff     *time.Duration
	contextTimeout      *bool
}

func simpleFields(o *redis.Options) connFields {
	return connFields{
		username:            o.Username,
		password:            &o.Password,
		credentialsProvider: o.CredentialsProvider != nil || o.CredentialsProviderContext != nil || o.StreamingCredentialsProvider != nil,
		credentials:         &o.CredentialsProviderContext,
		dialer:              &o.Dialer,
		dialTimeout:         &o.DialTimeout,
		dialerRetries:       &o.DialerRetries,
		tlsConfig:           o.TLSConfig,
		maxRetries:          &o.MaxRetries,
		minRetryBackoff:     &o.MinRetryBackoff,
		maxRetryBackoff:     &o.MaxRetryBackoff,
		contextTimeout:      &o.ContextTimeoutEnabled,
	}
}

func clusterFields(o *redis.ClusterOptions) connFields {
	return connFields{
		username:            o.Username,
		password:            &o.Password,
		credentialsProvider: o.CredentialsProvider != nil || o.CredentialsProviderContext != nil || o.StreamingCredentialsProvider != nil,
		credentials:         &o.CredentialsProviderContext,
		dialer:              &o.Dialer,
		dialTimeout:         &o.DialTimeout,
		dialerRetries:       &o.DialerRetries,
		tlsConfig:           o.TLSConfig,
		maxRetries:          &o.MaxRetries,
		minRetryBackoff:     &o.MinRetryBackoff,
		maxRetryBackoff:     &o.MaxRetryBackoff,
		contextTimeout:      &o.ContextTimeoutEnabled,
	}
}

// adjust applies PasswordFile, the keep-alive dialer and the connect timeout,
// turns go-redis's retries off, keeping their budget for the safe retries,
// leaves dial retries to the supervisor, and makes a command's context deadline
// bound its wait on the socket, so that a caller's time budget (the cache's,
// say) holds against a slow server.
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
	if *f.dialerRetries == 0 {
		*f.dialerRetries = 1
	}

	retry := retryPolicy{max: *f.maxRetries, minBackoff: *f.minRetryBackoff, maxBackoff: *f.maxRetryBackoff}
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

// clusterRetries is the policy of a cluster client, read from its normalized
// options: the cluster retries on its own, up to MaxRedirects, made safe by
// nodeHook; a node retries only what never left, and reads whose connection
// broke, after its supervisor's next attempt.
func clusterRetries(cc *redis.ClusterClient) retryPolicy {
	o := cc.Options()
	return retryPolicy{max: o.MaxRedirects, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff}
}

// newDialer dials TCP (and TLS when configured, telling a plaintext port
// apart: see tlsdial.Dialer) with the configured keep-alive.
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
	td := &tlsdial.Dialer{Net: nd, Config: tlsConfig}
	return td.DialContext
}

// parseURL checks a URL before redis.ParseURL reads it, so that no error
// carries the password (url.Parse quotes the whole URL in its errors, and
// go-redis quotes parts of it) and no password is silently cut into a host or
// a port. Every error shows the URL without its user info.
func parseURL(raw string) (*url.URL, error) {
	if redact.UserinfoCutShort(raw) {
		return nil, optionErrorf("URL", "%q: the user info ends early at an unencoded '#', '/' or '?', "+
			"which would cut the password and take the rest for the host or the path: %s", redact.URL(raw), redact.EncodeAdvice)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, optionErrorf("URL", "%q is not a valid URL: %s", redact.URL(raw), redact.URLError(err, raw))
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "unix":
		return u, nil
	default:
		return nil, optionErrorf("URL", "%q has scheme %q: use redis://, rediss:// or unix://", redact.URL(raw), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, optionErrorf("URL", "%q has no host: write the server's address, as in redis://localhost:6379 "+
			"(go-redis would dial localhost:6379 with the URL's password)", redact.URL(raw))
	}
	if h := u.Host; strings.Contains(strings.TrimPrefix(h, "["), ":") && !strings.HasSuffix(h, "]") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			why := err.Error()
			var ae *net.AddrError
			if errors.As(err, &ae) {
				why = ae.Err
			}
			return nil, optionErrorf("URL", "%q has host %q, which is not host:port (%s): write one port, and an IPv6 address in brackets", redact.URL(raw), h, why)
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, optionErrorf("URL", "%q has port %s: a port lies between 1 and 65535", redact.URL(raw), p)
		}
	}
	return u, nil
}
