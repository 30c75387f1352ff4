// Package metrics exports Prometheus metrics for Redis: what the client does
// (commands, latency, errors, lifecycle, breaker, pool), what the cache does,
// and what the server reports in INFO; and a Monitor that raises alerts on the
// thresholds commonly used for Redis in production.
//
// Nothing is registered globally: New registers with the Registerer it is
// given, or with nothing (a *Metrics is itself a prometheus.Collector).
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.New(metrics.Options{Registerer: reg})
//	err = m.Instrument(rdb)                                          // a *redisguard.Client
//	products, err := cache.New[Product](rdb, cache.Options{..., Observer: m.ObserveCache})
//	reg.MustRegister(metrics.NewServerCollector(rdb, metrics.ServerOptions{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// A nil client, or a nil pointer inside the interface such as a
// (*redis.Client)(nil), is an error wrapping ErrNoClient at construction:
// from Instrument and NewMonitor, and from the registration of
// NewServerCollector's collector (MustRegister panics with it, as it does
// for any invalid collector), never a panic during a scrape or a poll.
//
// # Metrics
//
// With the default namespace "redis" (the names Redis dashboards commonly use, where there is one):
//
//	redis_commands_total{command}                 counter    commands sent
//	redis_command_duration_seconds{command}       histogram  latency; seed buckets 1 ms…0.5 s plus 0.1, 0.25, 0.5 ms and 1 s; native too
//	redis_command_errors_total{command,reason}    counter    failed commands by bounded reason
//	redis_client_state{state}                     gauge      1 for the client's current state
//	redis_client_node_state{node,state}           gauge      1 for the current state of each server
//	redis_client_reconnect_attempts_total{node}   counter    reconnect attempts scheduled, by server
//	redis_client_connections_total                counter    connections dialed
//	redis_client_queue_length                     gauge      commands in flight or waiting
//	redis_client_refused_total{reason}            counter    commands refused: queue_full, not_ready, closed, breaker_open
//	redis_breaker_state{node,state}               gauge      1 for the current state of each server's breaker
//	redis_breaker_transitions_total{node,from,to} counter    breaker state changes, by server
//	redis_pool_hits_total, _misses_total, _timeouts_total, _stale_connections_total   counters
//	redis_pool_connections, redis_pool_idle_connections                                gauges
//	redis_cache_requests_total{cache,result}      counter    cache results: hit, miss, negative_hit, fallback, load_error, corrupt, near_hit, near_negative_hit, stale
//	redis_cache_events_total{cache,event}         counter    invalidation_deferred, invalidation_applied, invalidation_dropped, leases_off, store_unleased, near_eviction
//	redis_cache_hit_rate{cache}                   gauge      share of requests answered without the loader (Redis or the near tier)
//	redis_cache_near_entries{near}, _bytes        gauge      values a near tier holds, and their size (ObserveNear)
//	redis_cache_near_connections{near}, _up       gauge      invalidation connections wanted (one per master) and subscribed
//	redis_cache_near_serving{near}                gauge      1 while the near tier serves from memory
//	redis_cache_near_{fills,invalidations,flushes,evictions,connections_lost}_total{near}  counter
//
// and from NewServerCollector, read from INFO and SLOWLOG LEN at scrape time:
//
//	redis_memory_bytes{type}                      used, peak, rss, max
//	redis_memory_usage_ratio                      used / maxmemory (absent without maxmemory)
//	redis_memory_fragmentation_ratio
//	redis_connected_clients, redis_blocked_clients, redis_max_clients
//	redis_keyspace_hits_total, redis_keyspace_misses_total, redis_evicted_keys_total
//	redis_instantaneous_ops_per_second, redis_slowlog_length
//	redis_server_up                               1 when the last read worked, else 0
//	redis_server_scrape_errors_total              failed reads (the scrape itself never fails)
//
// # Servers
//
// The client supervises each server on its own: a standalone client has one,
// a Sentinel client one whose address follows the master, a cluster client
// one per node of the slot map. The series about a server carry its address
// (host:port, as the client dials it) in the "node" label, on every kind of
// client, so that one dashboard fits all three:
//
//	redis_client_node_state{node="10.0.0.7:6379",state="reconnecting"} 1   # this shard is down
//	redis_breaker_state{node="10.0.0.8:6379",state="open"} 1               # this one is failing
//	sum by (node) (rate(redis_client_reconnect_attempts_total[5m]))
//
// redis_client_state stays the client's own state, without a node label:
// dashboards and alerts written for it keep their meaning. On a cluster the
// client is ready while any node serves, so an alert on it fires when the
// client can serve nothing; alert on redis_client_node_state for a node.
// redis_client_connections_total, the refusals and the pool statistics are
// the client's totals (a cluster's pool statistics add up its nodes' pools).
//
// When the client stops using a server (a cluster's slot map dropped it after
// a failover, or a Sentinel master moved away: Hooks.OnNodeRemoved) its
// series are deleted, so that the node label values stay bounded by the
// servers in use. A Sentinel failover thus shows the breaker of the new master
// under its own address, starting closed, and none of the old one's. However
// the slot map churns, at most Options.MaxNodeLabels servers (256 by default)
// have a node label value of their own at once: the series of the others are
// folded into node="other", whose state gauges count servers.
//
// The command label takes the values of Redis's own command table plus
// "pipeline" and "other" (module commands, typos), so that 10,000 distinct
// names sent by a buggy caller make one series, not 10,000.
package metrics
