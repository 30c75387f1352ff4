// Package redisguard makes a go-redis v9 client safe to run in a product service
// when Redis fails.
//
// A Client embeds redis.UniversalClient, so every go-redis command, pipeline and
// transaction is available, and each one passes through a guard:
//
//   - One supervisor goroutine owns the connection. When the connection is lost
//     (refused, reset, closed, or no answer within the read timeout) the client
//     moves to StateReconnecting and the supervisor reconnects with capped
//     exponential backoff: 100 ms doubling to 3 s, ±10 % jitter, 10 attempts by
//     default, the seed's node-redis reconnectStrategy. Meanwhile callers fail
//     fast with ErrNotReady and never dial the server themselves, so a dead
//     server sees the backoff schedule however many goroutines call.
//   - Options.QueueLimit bounds the commands in flight plus those waiting
//     (ErrQueueFull beyond it); Options.OfflineQueue makes commands wait for
//     the connection instead of failing fast.
//   - A circuit breaker (package breaker) stops commands at once, with
//     breaker.ErrOpen, while Redis is slow or refusing to serve (timeouts,
//     LOADING, BUSY, …), and lets a few probes through after a pause.
//   - A write that may have reached the server is never sent twice. go-redis's
//     own retries are turned off; the client retries only what cannot apply
//     twice (see Client).
//   - Hooks report the lifecycle as node-redis's events do: OnConnect, OnReady,
//     OnError, OnReconnecting, OnEnd.
//   - Close is graceful: commands in flight finish, new ones get ErrClosed.
//   - No password appears in an error, an event or a log line. Passwords may
//     come from the URL, the options or a file (Options.PasswordFile), which is
//     read again for every new connection so that a rotated secret is used.
//
// # Lifecycle
//
//	connecting → ready → reconnecting → ready … → closed
//
// New validates the options and returns at once; the first connection is made
// in the background. Call WaitReady before the first command, or turn on
// OfflineQueue. When the reconnect strategy gives up, the client is closed for
// good: OnError and OnEnd receive an error wrapping ErrMaxRetriesReached, and
// every command fails at once with it.
//
// # Mapping from node-redis
//
//	node-redis                     redisguard
//	url                            Options.URL
//	socket.connectTimeout: 5000    Options.ConnectTimeout (default 5 s)
//	socket.keepAlive: 30000        Options.KeepAlive (default 30 s)
//	socket.reconnectStrategy       Options.Reconnect (ExponentialBackoff, ReconnectFunc)
//	commandsQueueMaxLength: 1000   Options.QueueLimit (default 1000)
//	disableOfflineQueue            Options.OfflineQueue (off by default: fail fast)
//	pingInterval                   Options.PingInterval
//	on('connect' | 'ready' | 'error' | 'reconnecting' | 'end')
//	                               Hooks.OnConnect, OnReady, OnError, OnReconnecting, OnEnd
//	client.quit()                  Client.Close
//
// Standalone servers, Sentinel (Redis.MasterName) and Cluster (several
// Redis.Addrs) all come through redis.UniversalOptions. On a cluster the client
// has one state for the whole cluster, reconnect attempts go to the seed nodes
// in turn, and go-redis's cluster pipeline may still resend a batch whose
// connection broke.
package redisguard
