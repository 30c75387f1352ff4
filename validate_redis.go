package redisguard

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLimit is a numeric field of go-redis's options that go-redis accepts
// whatever its value, with the smallest value it gives a meaning and what a
// smaller one would do: panic (PoolSize), or misbehave without a word.
type redisLimit struct {
	field    string // as in redis.UniversalOptions
	query    string // its URL query parameter, "" when it has none
	value    int64
	min      int64
	duration bool
	what     string
}

// The consequences New reports, measured against go-redis v9.23.
const (
	whatPoolSize    = "go-redis would panic making its pool (0 means 10 per CPU)"
	whatConns       = "a number of connections must not be negative (0 means no limit)"
	whatMaxIdle     = "go-redis would close every connection after each command and dial a new one for the next (0 means no limit)"
	whatPoolTimeout = "every command that must wait for a pooled connection would fail with a pool timeout instead (0 means ReadTimeout + 1 s)"
	whatIOTimeout   = "go-redis knows -1 (no timeout) and -2 (no deadline at all); a value below turns the deadline off without a word (0 means the default)"
	whatDB          = "go-redis would skip SELECT and use database 0"
	whatBuffer      = "a buffer size must not be negative (0 means go-redis's default)"
	whatDialerWait  = "a wait must not be negative (0 means 100 ms)"
	whatRedirects   = "a cluster client would send no command at all and return empty replies without an error (-1 means no redirects)"
	whatFailing     = "a cluster node that fails would never be avoided (0 means 15)"
)

// universalLimits are the limits of Options.Redis.
func universalLimits(o *redis.UniversalOptions) []redisLimit {
	return []redisLimit{
		{field: "PoolSize", value: int64(o.PoolSize), what: whatPoolSize},
		{field: "MinIdleConns", value: int64(o.MinIdleConns), what: whatConns},
		{field: "MaxIdleConns", value: int64(o.MaxIdleConns), what: whatMaxIdle},
		{field: "MaxActiveConns", value: int64(o.MaxActiveConns), what: whatConns},
		{field: "PoolTimeout", value: int64(o.PoolTimeout), duration: true, what: whatPoolTimeout},
		{field: "ReadTimeout", value: int64(o.ReadTimeout), min: -2, duration: true, what: whatIOTimeout},
		{field: "WriteTimeout", value: int64(o.WriteTimeout), min: -2, duration: true, what: whatIOTimeout},
		{field: "DB", value: int64(o.DB), what: whatDB},
		{field: "ReadBufferSize", value: int64(o.ReadBufferSize), what: whatBuffer},
		{field: "WriteBufferSize", value: int64(o.WriteBufferSize), what: whatBuffer},
		{field: "PipelineReadBufferSize", value: int64(o.PipelineReadBufferSize), what: whatBuffer},
		{field: "PipelineWriteBufferSize", value: int64(o.PipelineWriteBufferSize), what: whatBuffer},
		{field: "DialerRetryTimeout", value: int64(o.DialerRetryTimeout), duration: true, what: whatDialerWait},
		{field: "MaxRedirects", value: int64(o.MaxRedirects), min: -1, what: whatRedirects},
		{field: "FailingTimeoutSeconds", value: int64(o.FailingTimeoutSeconds), what: whatFailing},
	}
}

// clusterLimits are the limits of Options.Cluster.
func clusterLimits(o *redis.ClusterOptions) []redisLimit {
	return []redisLimit{
		{field: "PoolSize", value: int64(o.PoolSize), what: whatPoolSize},
		{field: "MinIdleConns", value: int64(o.MinIdleConns), what: whatConns},
		{field: "MaxIdleConns", value: int64(o.MaxIdleConns), what: whatMaxIdle},
		{field: "MaxActiveConns", value: int64(o.MaxActiveConns), what: whatConns},
		{field: "PoolTimeout", value: int64(o.PoolTimeout), duration: true, what: whatPoolTimeout},
		{field: "ReadTimeout", value: int64(o.ReadTimeout), min: -2, duration: true, what: whatIOTimeout},
		{field: "WriteTimeout", value: int64(o.WriteTimeout), min: -2, duration: true, what: whatIOTimeout},
		{field: "ReadBufferSize", value: int64(o.ReadBufferSize), what: whatBuffer},
		{field: "WriteBufferSize", value: int64(o.WriteBufferSize), what: whatBuffer},
		{field: "PipelineReadBufferSize", value: int64(o.PipelineReadBufferSize), what: whatBuffer},
		{field: "PipelineWriteBufferSize", value: int64(o.PipelineWriteBufferSize), what: whatBuffer},
		{field: "DialerRetryTimeout", value: int64(o.DialerRetryTimeout), duration: true, what: whatDialerWait},
		{field: "MaxRedirects", value: int64(o.MaxRedirects), min: -1, what: whatRedirects},
		{field: "FailingTimeoutSeconds", value: int64(o.FailingTimeoutSeconds), what: whatFailing},
	}
}

// urlLimits are the limits of the options redis.ParseURL made of Options.URL.
// ParseURL turns a duration of zero or below into -1, which only PoolTimeout
// refuses.
func urlLimits(o *redis.Options) []redisLimit {
	return []redisLimit{
		{field: "PoolSize", query: "pool_size", value: int64(o.PoolSize), what: whatPoolSize},
		{field: "MinIdleConns", query: "min_idle_conns", value: int64(o.MinIdleConns), what: whatConns},
		{field: "MaxIdleConns", query: "max_idle_conns", value: int64(o.MaxIdleConns), what: whatMaxIdle},
		{field: "MaxActiveConns", query: "max_active_conns", value: int64(o.MaxActiveConns), what: whatConns},
		{field: "PoolTimeout", query: "pool_timeout", value: int64(o.PoolTimeout), duration: true, what: whatPoolTimeout},
		{field: "DB", query: "db", value: int64(o.DB), what: whatDB},
		{field: "PipelineReadBufferSize", query: "pipeline_read_buffer_size", value: int64(o.PipelineReadBufferSize), what: whatBuffer},
		{field: "PipelineWriteBufferSize", query: "pipeline_write_buffer_size", value: int64(o.PipelineWriteBufferSize), what: whatBuffer},
	}
}

// checkRedisLimits returns an *OptionError for every limit below its
// minimum. source is "Redis" or "URL".
func checkRedisLimits(source string, limits []redisLimit) []error {
	var errs []error
	for _, l := range limits {
		if l.value >= l.min {
			continue
		}
		value := fmt.Sprint(l.value)
		if l.duration {
			value = time.Duration(l.value).String()
		}
		switch {
		case source != "URL":
			errs = append(errs, optionErrorf(source+"."+l.field, "is %s: %s", value, l.what))
		case l.duration:
			errs = append(errs, optionErrorf("URL", "has %s=0 or below, which go-redis reads as %s %s: %s", l.query, l.field, value, l.what))
		case l.field == "DB":
			errs = append(errs, optionErrorf("URL", "selects database %s: %s", value, l.what))
		default:
			errs = append(errs, optionErrorf("URL", "has %s=%s: %s", l.query, value, l.what))
		}
	}
	return errs
}

// checkProtocol refuses a RESP version go-redis does not speak: it would send
// HELLO with it and fall back to RESP 2 without a word, or fail every
// connection. source is "Redis", "Cluster" or "URL".
func checkProtocol(source string, protocol int) error {
	switch protocol {
	case 0, 2, 3:
		return nil
	}
	if source == "URL" {
		return optionErrorf("URL", "has protocol=%d: go-redis speaks RESP 2 and 3 (no protocol parameter means 3)", protocol)
	}
	return optionErrorf(source+".Protocol", "is %d: go-redis speaks RESP 2 and 3 (0 means 3)", protocol)
}
