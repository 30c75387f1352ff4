package redisguard

import (
	"errors"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/wire"
)

// LimitFailoverReplies holds every connection of a failover client built from
// fo afterwards (redis.NewFailoverClient, NewFailoverClusterClient), those to
// its sentinels included, to the reply limits of opts: its MaxReply… fields,
// zero meaning the default, as New and Wrap read them. Its other fields are
// not read.
//
// Wrap holds the connections to the master of a failover client it guards to
// the limits, but cannot reach those to the sentinels: go-redis dials them
// inside the failover client, with fo.Dialer. Call LimitFailoverReplies on fo
// before building the client, and pass Wrap the same limits:
//
//	fo := &redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: sentinels}
//	if err := redisguard.LimitFailoverReplies(fo, opts); err != nil { … }
//	c, err := redisguard.Wrap(redis.NewFailoverClient(fo), opts)
//
// It replaces fo.Dialer with one that dials with it (or, when it is nil, as
// go-redis does: fo.DialTimeout, fo.TLSConfig) and holds what it dials to the
// limits. A reply over them fails its connection with an error for which
// errors.Is(err, ErrReplyTooLarge) holds, before go-redis allocates for it.
// (The connections to the master are then held twice, by the same limits.)
// A New client with Redis.MasterName needs none of this: it holds its
// sentinels' connections itself.
func LimitFailoverReplies(fo *redis.FailoverOptions, opts Options) error {
	if fo == nil {
		return errors.New("redisguard: LimitFailoverReplies: the FailoverOptions are nil")
	}
	lim, errs := opts.replyLimits()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	dial := fo.Dialer
	if dial == nil {
		dial = redis.NewDialer(&redis.Options{DialTimeout: fo.DialTimeout, TLSConfig: fo.TLSConfig})
	}
	fo.Dialer = wire.LimitedDialer(dial, &lim)
	return nil
}
