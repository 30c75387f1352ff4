// Package bench compares the hits of package cache with those of the other
// Go libraries that cache Redis values in process memory or over the
// network, side by side in one run. It is a module of its own so that the
// libraries it measures never become dependencies of redisguard.
//
//	cd bench && REDISGUARD_REQUIRE_REDIS=1 go test -run TestPeers -v -count 1 .
package bench
