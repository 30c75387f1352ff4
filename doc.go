// Package redisguard makes a go-redis v9 client safe to run in a product service
// when Redis fails.
//
// A Client embeds redis.UniversalClient, so every go-redis command, pipeline and
// transaction is available, and each one passes through a guard:
//
//   - Every server is supervised on its own: the one of a standalone client,
//     the master of a Sentinel client (one server whose address moves), every
//     node of a cluster. When a server's connection is lost (refused, reset,
//     closed, no answer within the read timeout, refused credentials) it moves
//     to reconnecting and one supervisor goroutine reconnects it with capped
//     exponential backoff: 100 ms doubling to 3 s, ±10 % jitter, 10 attempts by
//     default, as node-redis's usual reconnectStrategy. Meanwhile the commands
//     routed to it fail fast with ErrNotReady (naming the server and why) and
//     never dial it themselves, so a dead server sees the backoff schedule
//     however many goroutines call; the other servers are untouched.
//   - Options.QueueLimit bounds the commands in flight plus those waiting
//     (ErrQueueFull beyond it); Options.OfflineQueue makes commands wait for
//     the connection instead of failing fast.
//   - A circuit breaker per server (package breaker) stops commands at once,
//     with breaker.ErrOpen, while the server is slow or refusing to serve
//     (LOADING, BUSY, …), and lets a few probes through after a pause. It
//     judges the server's own time, measured from the write: callers in a
//     hurry and a busy host never open it.
//   - With go-redis's client-side caching on, a refused server's keys are
//     still read from the cache, as plain go-redis reads them: a read is
//     refused only when the cache cannot answer it.
//   - A write that may have reached the server is never sent twice. go-redis's
//     own retries are turned off; the client retries only what cannot apply
//     twice (see Client), and on a cluster keeps go-redis's retries from
//     resending a pipeline that may have been applied.
//   - New connections are paced while a server is ready (Options.DialRate),
//     and pause while it refuses them for max clients (the commands then wait
//     for a pooled connection): no connection storms.
//   - No reply can take the process down: every connection follows the RESP
//     stream, and a reply declaring more than Options.MaxReply… allow fails
//     its connection with ErrReplyTooLarge before go-redis allocates for it.
//   - Hooks report the lifecycle as node-redis's events do: OnConnect,
//     OnReady, OnError, OnReconnecting, OnEnd; the OnNode hooks say which
//     server.
//   - Close is graceful: commands in flight finish, new ones get ErrClosed.
//   - No password appears in an error, an event, a log line, a printed
//     Client or Options, or a health answer, even when a server quotes it
//     back (Client.Redact). Passwords may come from the URL, the options or a file
//     (Options.PasswordFile), which is read again for every new connection so
//     that a rotated secret is used.
//
// # Lifecycle
//
//	connecting → ready → reconnecting → ready … → closed
//
// New validates the options and returns at once; the first connection is made
// in the background, and the first command connects as go-redis's would.
// WaitReady waits for the client to be ready, and says why it is not when its
// context ends first. On a cluster the client is ready while any node of the
// slot map serves. When the reconnect strategy gives up (on a cluster: on
// every node it knows), the client is closed for good: OnError and OnEnd
// receive an error wrapping ErrMaxRetriesReached, and every command fails at
// once with it. A long-running service sets
// Options.Reconnect = ExponentialBackoff{MaxRetries: -1, Jitter: 0.1}.
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
// Redis.Addrs, or Options.Cluster) all come through Options. When a Sentinel
// master is replaced, every connection to the old one is cut at once: what
// was not yet written goes to the new master, a read in flight runs again
// there, and a write in flight fails with ErrMasterSwitched. Publish/subscribe
// connections bypass the guard, and full-duplex auto-pipelining, which cannot
// be guarded, is refused (ErrFullDuplex).
package redisguard
