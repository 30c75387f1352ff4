// Package health serves the health of a Redis client over HTTP, for
// Kubernetes probes and for people:
//
//	mux.Handle("/health/redis", health.Handler(rdb))   // PING, latency, state: for dashboards
//	mux.Handle("/health/live", health.Liveness(rdb))   // livenessProbe: has the client given up?
//	mux.Handle("/health/ready", health.Readiness(rdb)) // readinessProbe: can it serve now?
//
// Check gives the same answer to programs that are not HTTP servers. A
// service that answers without Redis sets Options.Optional for Readiness (see
// "Required or optional" below).
//
// It replaces the usual handler that awaits a PING and answers 200 or 503.
// That handler has no timeout: a paused Redis (SIGSTOP, a frozen VM, a
// blackholed network) leaves every probe hanging until Kubernetes gives up on
// it, and every probe adds a PING to a server in trouble. Here:
//
//   - The PING is bounded (DefaultTimeout, 1 s, or Options.Timeout) and the answer
//     comes when the bound passes, even from a go-redis client that ignores
//     contexts: a probe never hangs.
//   - Concurrent probes of one endpoint share one PING (singleflight): a
//     hundred probes at once send one.
//   - With a *redisguard.Client, the client's state and its circuit breaker
//     are read first: a client that is not ready, closed, or whose breaker is
//     open gets a 503 at once, without a PING.
//   - Error messages are short and safe: "connection refused", "timeout after
//     1s", "client not ready (reconnecting)", "circuit breaker open", "client
//     closed", "TLS: certificate signed by unknown authority", or a Redis error
//     reply such as "LOADING Redis is loading the dataset in memory"; never an
//     address, a host name or a password.
//   - A client that cannot connect says why, from its last connection error
//     (redisguard.Client.LastError): "client not ready (reconnecting):
//     authentication failed: WRONGPASS invalid username-password pair or user
//     is disabled.", "client not ready (connecting): TLS: certificate signed
//     by unknown authority", "client closed: reconnect retries exhausted:
//     connection refused".
//   - On a cluster, each node is checked on its own, and one node down does
//     not fail the check (see "Clusters" below).
//
// # Answers
//
// Each endpoint answers GET and HEAD (same status and headers, no body), and
// 405 with "Allow: GET, HEAD" to other methods. Every answer carries
// "Cache-Control: no-store" and "Vary: Accept". By default the body is JSON:
//
//	200 {"status":"healthy","latency":"0.42ms","latency_ms":0.42,"state":"ready","breaker":"closed"}
//	503 {"status":"unhealthy","state":"reconnecting","breaker":"closed","error":"client not ready (reconnecting)"}
//
// "state" and "breaker" appear for a *redisguard.Client ("breaker" only when
// its breaker is enabled); a healthy answer with a concern adds "warning".
//
// A request whose Accept header asks for application/health+json (the IETF
// draft "Health Check Response Format for HTTP APIs",
// draft-inadarei-api-health-check) gets that format:
//
//	{"status":"pass","checks":{
//	  "redis:circuitBreaker":[{"componentType":"component","observedValue":"closed","status":"pass","time":"2025-01-02T15:04:05.000Z"}],
//	  "redis:connection":[{"componentType":"datastore","observedValue":"ready","status":"pass","time":"2025-01-02T15:04:05.000Z"}],
//	  "redis:responseTime":[{"componentType":"datastore","observedValue":0.42,"observedUnit":"ms","status":"pass","time":"2025-01-02T15:04:05.000Z"}]}}
//
// Its status is the worst of its checks, and "output" says why when it is
// not "pass":
//
//	status  HTTP  when
//	pass    200   PING answered; the client (if guarded) ready, its breaker closed
//	warn    200   PING answered, but the breaker is half-open or the PING was slower
//	              than Options.WarnLatency; on a cluster, some node does not serve, is
//	              slow, or its breaker is not closed; Liveness: the client is
//	              (re)connecting; with Options.Optional: anything that would otherwise fail
//	              (the plain JSON then says "status":"degraded" with the "error")
//	fail    503   PING failed or timed out; the client not ready, closed, or its
//	              breaker open; on a cluster, no node answered; Liveness: the
//	              client is closed
//
// # Clusters
//
// A *redisguard.Client that guards a cluster supervises each node on its own
// and stays ready while any node serves. Its check reads the slot map again
// (CLUSTER SLOTS from one node, for at most a quarter of the timeout, after
// which the map the client has is used), PINGs every node of it at once, each
// through the node's own guard (a node that is down, or whose breaker is
// open, refuses at once, without a dial), and passes
// while the client is ready and some node answers: one shard down takes no
// pod out of its Service, since the pod still serves every other shard's
// keys. The nodes that do not serve, are slower than Options.WarnLatency, or
// whose breaker is half-open or open make the answer warn (200), and are
// named in it; 503 comes only when no node answers, or the client itself is
// not ready:
//
//	200 {"status":"healthy","latency":"0.42ms","latency_ms":0.42,"state":"ready",
//	     "warning":"10.0.0.7:6379 reconnecting (connection refused)",
//	     "nodes":{"10.0.0.6:6379":"ready","10.0.0.7:6379":"reconnecting (connection refused)",
//	              "10.0.0.8:6379":"ready (circuit breaker open)"}}
//	503 {"status":"unhealthy","state":"ready","error":"no node answered: timeout after 1s","nodes":{…}}
//
// "latency" is the slowest node's, and "breaker" is absent: each node has its
// own, shown in "nodes". In application/health+json each node adds one entry
// to "redis:connection", "redis:responseTime" and "redis:circuitBreaker",
// named by its address in "componentId", after the client's own entries:
//
//	"redis:connection":[
//	  {"componentType":"datastore","observedValue":"ready","status":"pass",…},
//	  {"componentId":"10.0.0.7:6379","componentType":"datastore","observedValue":"reconnecting",
//	   "status":"warn","output":"connection refused",…}, …]
//
// Concurrent probes share one round of PINGs, as they share one PING
// elsewhere. These answers name the cluster's nodes by address (never with a
// password);
// the answers for a standalone or Sentinel client name none. Check reports
// every server in Result.Nodes, for every kind of client.
//
// # Kubernetes
//
// Liveness must not follow Redis. A livenessProbe that PINGs Redis turns an
// outage of Redis into a restart of every pod of the service at once: the
// restarts do not bring Redis back, they drop the requests in flight, they
// empty every in-process cache and, when Redis returns, every pod connects
// at the same moment. A redisguard.Client recovers by itself, so Liveness
// fails only when the client has given up (state closed). With the default
// reconnect strategy the client gives up after 10 attempts, about 18 s, and
// a closed client never comes back: a restart is then the only way back, but
// a Redis outage longer than that restarts every pod anyway. Under
// Kubernetes, retry forever instead, and let readiness take the pods out of
// their Service meanwhile:
//
//	rdb, err := redisguard.New(redisguard.Options{
//		URL:       os.Getenv("REDIS_URL"),
//		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
//	})
//
// Recommended probes, with the default 1 s PING timeout:
//
//	livenessProbe:
//	  httpGet: {path: /health/live, port: http}
//	  periodSeconds: 10
//	  timeoutSeconds: 2
//	  failureThreshold: 6     # a minute: a slow HTTP server is not a dead client
//	readinessProbe:
//	  httpGet: {path: /health/ready, port: http}
//	  periodSeconds: 5
//	  timeoutSeconds: 2       # above the 1 s PING timeout: the kubelet reads our 503 and its reason
//	  failureThreshold: 2     # out of the Service after about 10 s of failures
//	  successThreshold: 1
//
// Keep timeoutSeconds above the PING timeout (raise both together with
// Options.Timeout), or the kubelet records its own timeout instead of the answer.
// No startupProbe is needed for Redis: Liveness passes while the client
// makes its first connection, and Readiness keeps the pod out of its Service
// until it is ready.
//
// # Required or optional
//
// Readiness takes a pod out of its Service while it cannot reach Redis. When
// Redis is down for every pod, that is every pod. Say which kind of service
// this is:
//
//	// Redis is required: without it the service cannot answer (sessions,
//	// rate limits, a job queue). Out of the Service while Redis fails.
//	mux.Handle("/health/ready", health.Readiness(rdb))
//
//	// Redis is optional: a cache in front of the source of truth (see
//	// package cache, whose loader answers when Redis cannot). Readiness
//	// stays 200 and reports Redis as degraded.
//	mux.Handle("/health/ready", health.Readiness(rdb, health.Options{Optional: true}))
//
// With Options.Optional, a failing Redis is answered
//
//	200 {"status":"degraded","state":"reconnecting","breaker":"closed","error":"client not ready (reconnecting)"}
//
// and "status":"warn" in application/health+json, so that the pod keeps its
// traffic while a dashboard or an alert on the endpoint still sees Redis
// fail; /health/redis (Handler, without Options.Optional) answers 503 meanwhile. An
// optional readiness also keeps a busy host from flapping out of its Service
// when one PING misses its timeout.
//
// # Mistakes
//
// A nil client, or a nil pointer inside the interface such as a
// (*redis.Client)(nil), is a mistake of the program, not an outage: Handler,
// Readiness and Liveness answer every request 500 with "no Redis client:
// Readiness got a nil *redis.Client", and Check fails with ErrNoClient.
// NewHandler, NewReadiness and NewLiveness return that error instead, for a
// program that wants to stop at startup. Nothing here panics: a PING that
// panics (a broken client) fails the check with "PING panicked".
//
// Readiness PINGs while the breaker is half-open, as one of its probes: a pod
// out of its Service gets no traffic to probe with, and the readiness PINGs
// close its breaker and bring it back (see Readiness). The readiness PINGs
// count for the breaker like any command: against a paused server, timed-out
// PINGs open it, and the next answers come at once.
package health
