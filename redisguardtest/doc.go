// Package redisguardtest lets a service's own tests run against a real Redis
// and inject the faults it must survive: StartServer runs a redis-server on a
// free loopback port, StartProxy puts a fault proxy in front of it that can be
// taken down (Down, Up), slowed (SetLatency) or made to accept and swallow
// everything (Pause, Resume). Everything is torn down by tb.Cleanup.
//
// A test of a service's fallback during an outage, in the shape of
// TestExampleCacheFallsBackDuringOutage in this package's tests:
//
//	srv := redisguardtest.StartServer(t)
//	proxy := redisguardtest.StartProxy(t, srv.Addr())
//	rdb, _ := redisguard.New(redisguard.Options{URL: "redis://" + proxy.Addr(),
//		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1}})
//	products, _ := cache.New[string](rdb, cache.Options{Prefix: "product:"})
//	proxy.Down()  // Get is served by the loader
//	proxy.Up()    // by Redis again once the client has reconnected
//	proxy.Pause() // the loader answers within the cache's Redis time budget
//
// StartServer skips the test, saying how to install Redis, when redis-server
// is not in PATH, and fails it instead when the environment variable
// REDISGUARD_REQUIRE_REDIS is 1, as a CI that must not pass by skipping sets.
// Servers and proxies listen on 127.0.0.1 only, never on port 6379. The
// package needs Unix signals: it is meant for Linux and macOS.
package redisguardtest
