// Package breaker is a circuit breaker for Redis calls, over sony/gobreaker's
// two-step breaker, with a classifier that knows which Redis errors mean the
// server is in trouble.
//
// A Breaker is closed while calls succeed. It opens when ConsecutiveFailures calls
// fail in a row (default 5), or when at least FailureRatio of the calls of the
// last Window failed (default half of at least 20 calls in 10 s). While open,
// Allow refuses every call at once with ErrOpen, without touching the network.
// After OpenTimeout (default 5 s) it is half-open: HalfOpenRequests calls
// (default 3) go through as probes; when they all succeed it closes, and any
// failure opens it again.
//
// # What counts as a failure
//
// IsFailure, the default classifier, decides. A reply that shows the server
// working, even an error reply, is a success; so is the caller's own context
// ending, which is not counted at all.
//
//	failure                                      not a failure
//	timeouts (network and pool)                  redis.Nil
//	refused, reset and closed connections        WRONGTYPE, ERR syntax and other ERR replies
//	LOADING, BUSY, MASTERDOWN, CLUSTERDOWN,      NOSCRIPT
//	TRYAGAIN, READONLY, NOREPLICAS, MISCONF      OOM (maxmemory reached: the server is fine)
//	ERR max number of clients reached            context.Canceled, context.DeadlineExceeded
//
// Do runs a function under a breaker and answers from a fallback when the
// breaker is open or the function fails with a counted failure: the seed's
// "circuit breaker for Redis failures" with "graceful degradation".
//
// A redisguard.Client runs every command through its breaker (see
// redisguard.Options.Breaker); this package is also usable on its own, around
// any call.
package breaker
