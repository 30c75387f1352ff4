package redisguard_test

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// A server's reply that declares more than the limits (a bulk string, an
// aggregate, a nesting, a line) fails its connection before go-redis
// allocates for it. The defaults suit any legitimate reply; a service that
// never reads large values can hold its servers to less.
func ExampleOptions_replyLimits() {
	rdb, err := redisguard.New(redisguard.Options{
		URL:               "redis://127.0.0.1:6379/0",
		MaxReplyBulkBytes: 16 << 20, // no value above 16 MiB
		MaxReplyElements:  1 << 20,  // no reply of more than a million elements
	})
	if err != nil {
		panic(err)
	}
	defer rdb.Close()
	// A reply over a limit:
	//   if errors.Is(err, redisguard.ErrReplyTooLarge) { … }
	_ = errors.Is
}

// Redact hides the client's credentials in a text that quotes a server, which
// may quote them back; Options print none, whatever the verb.
func ExampleClient_Redact() {
	opts := redisguard.Options{URL: "redis://app:s3cret-pw@127.0.0.1:1/0"}
	rdb, err := redisguard.New(opts)
	if err != nil {
		panic(err)
	}
	defer rdb.Close()
	fmt.Println(rdb.Redact(`ERR upstream refused AUTH app s3cret-pw`))
	fmt.Printf("%.44s…\n", opts)
	// Output:
	// ERR upstream refused AUTH xxxxx xxxxx
	// {URL:redis://xxxxx@127.0.0.1:1/0 Redis:<nil>…
}

// A failover client the application builds itself keeps its sentinels'
// connections out of Wrap's reach: LimitFailoverReplies holds them to the
// same reply limits, before the client is built.
func ExampleLimitFailoverReplies() {
	opts := redisguard.Options{MaxReplyBulkBytes: 16 << 20}
	fo := &redis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: []string{"127.0.0.1:26379"}}
	if err := redisguard.LimitFailoverReplies(fo, opts); err != nil {
		fmt.Println(err)
		return
	}
	rdb, err := redisguard.Wrap(redis.NewFailoverClient(fo), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()
	fmt.Println(rdb.State())
	// Output: connecting
}
