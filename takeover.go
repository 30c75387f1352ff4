package redisguard

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// takeOverRetries turns the command retries of a client built by the application
// off and returns their budget for the safe retries. The options it reads were
// already normalized by go-redis (0 retries means none).
func takeOverRetries(rdb redis.UniversalClient) (retryPolicy, error) {
	switch r := rdb.(type) {
	case *redis.Client:
		o := r.Options()
		p := retryPolicy{max: o.MaxRetries, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff, busy: true}
		o.MaxRetries = 0
		return p, nil
	case *redis.ClusterClient:
		// The cluster retries on its own, made safe by nodeHook; its nodes
		// must not retry inside (-1 is "none" before a node normalizes it).
		r.Options().MaxRetries = -1
		return clusterRetries(r), nil
	default:
		return retryPolicy{}, fmt.Errorf("%w: %T", ErrUnsupportedClient, rdb)
	}
}
