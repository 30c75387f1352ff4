// Package breaker is a circuit breaker for Redis calls, over sony/gobreaker's
// two-step breaker, with a classifier that knows which Redis errors mean the
// server is in trouble.
//
// A Breaker is closed while calls succeed. It opens when ConsecutiveFailures calls
// fail in a row (default 5), or when at least FailureRatio of the calls of the
// last Window failed (default half of at least 20 calls in 10 s). While open,
// Allow refuses every call at once with ErrOpen, without touching the network.
// After its open time it is half-open: HalfOpenRequests calls (default 3) go
// through as probes; when they all succeed it closes, and any failure opens
// it again. The open time is MinOpenTimeout (default 100 ms) after closed and
// doubles at every reopening, up to OpenTimeout (default 5 s): a short stall
// costs about its length, a server that stays sick sees ever fewer probes.
// A reply in time to a call made before the breaker opened ends the open time
// at once, when a redisguard.Client sees one: the server answers again.
//
// # Using it
//
// Allow asks to make a call and returns a Ticket; Done reports the call's
// outcome with it, exactly once. An outcome reported after the breaker changed
// state is ignored, as in gobreaker: a late reply from before an outage cannot
// open the breaker again or close it.
//
// While closed, Allow and Done take no lock and allocate nothing: every
// command of a busy service passes through them. gobreaker remains the state
// machine (opening, half-open probes, closing, reopening, OnStateChange), but
// a closed breaker counts outcomes itself, in counters that callers on
// different cores do not share, and tells gobreaker to open when a rule
// trips. A refusal while open takes no lock either. Half-open calls, a
// handful, go through gobreaker's lock. A redisguard.Client also counts the
// successes and slow replies it measures on each connection, in memory of
// that connection's own.
//
// # What counts as a failure
//
// Settings.IsExcluded, then Settings.IsFailure, decide for every error
// reported with Done; a nil error is a success without asking
// them. IsFailure, the default classifier, counts a failure when the server
// cannot serve, and a success when a reply shows it working, even an error
// reply; the default IsExcluded leaves out the caller's own context ending.
//
//	IsFailure: failure                          IsFailure: not a failure
//	network timeouts, pool timeouts             redis.Nil
//	refused, reset and closed connections       WRONGTYPE, ERR syntax and other ERR replies
//	LOADING, MASTERDOWN, NOREPLICAS             NOSCRIPT
//	BUSY, MISCONF                               OOM (maxmemory reached: the server is fine)
//	ERR max number of clients reached           MOVED, ASK (the slot is elsewhere)
//	READONLY, CLUSTERDOWN, TRYAGAIN             WRONGPASS, NOAUTH, NOPERM (credentials)
//	ErrSlowCall, even wrapping a context error  context.Canceled, context.DeadlineExceeded (excluded)
//
// # What a redisguard.Client gives the breaker
//
// A Client judges its server's time and connections itself and reports to
// the breaker only what the server's replies say. Its successes and slow
// replies are measured on the connection, from the write (see Slow calls);
// the errors below never reach Settings.IsExcluded or Settings.IsFailure,
// and are counted neither as failures nor as successes:
//
//	timeouts                             time is judged from the write, as ErrSlowCall
//	refused, reset and closed            the reconnect supervisor's, not the breaker's
//	connections, failed dials and
//	connection setups (handshakes)
//	pool timeouts                        the process's wait, not the server's
//	READONLY, CLUSTERDOWN, TRYAGAIN,     about the topology around the node, not the node
//	MOVED, ASK
//	WRONGPASS, NOAUTH, NOPERM,           about the credentials
//	ERR invalid password, ERR AUTH
//	the client's own refusals            closed, queue full, not ready, breaker open
//	the caller's context ending
//
// So a Client's Settings.IsFailure (and IsExcluded) sees: ErrSlowCall; the
// replies LOADING, MASTERDOWN, NOREPLICAS, BUSY, MISCONF and ERR max number of
// clients reached (failures by default); the other error replies and
// redis.Nil (successes by default); and a network error that neither timed
// out nor broke the connection, or an error no rule names (a protocol error,
// say), which IsFailure classifies as above.
//
// # Slow calls
//
// The breaker judges the server, not its callers. A call is slow when the
// server took longer than SlowCallThreshold (default 500 ms, see
// DefaultSlowCallThreshold) to answer, counted from the moment the request was
// written: time spent waiting for a connection, dialing or being scheduled is
// not the server's and never counts, and a caller that gave up before the
// threshold says nothing about the server. The breaker has no clock of its
// own for this: the caller measures and reports ErrSlowCall (see ErrSlowCall
// for the contract).
//
// Do runs a function under a breaker and answers from a fallback when the
// breaker is open or the function fails with a counted failure: a circuit
// breaker for Redis failures with graceful degradation (a cache miss becomes a
// database query). It does
// not time the function, whose duration is not the server's alone.
//
// A redisguard.Client runs every command through its breaker (see
// redisguard.Options.Breaker); this package is also usable on its own, around
// any call.
package breaker
