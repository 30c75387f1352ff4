package redisguard

import (
	"maps"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// A CLUSTER SLOTS reply names its nodes as go-redis reads them.
func TestNamedByReadsAddressesAsGoRedisDoes(t *testing.T) {
	slots := []redis.ClusterSlot{
		{Start: 0, End: 100, Nodes: []redis.ClusterNode{{Addr: "127.0.0.1:7000"}, {Addr: "10.0.0.2:7001"}}},
		{Start: 101, End: 200, Nodes: []redis.ClusterNode{{Addr: "10.0.0.3:0"}}},
	}
	for _, tc := range []struct {
		origin string
		want   []string
	}{
		{"10.0.0.1:7000", []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7000"}},
		{"127.0.0.1:7000", []string{"10.0.0.2:7001", "10.0.0.3:7000", "127.0.0.1:7000"}},
		{"localhost:7000", []string{"10.0.0.2:7001", "10.0.0.3:7000", "127.0.0.1:7000"}},
	} {
		got := slices.Sorted(maps.Keys(namedBy(tc.origin, slots)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("from %s: %v, want %v", tc.origin, got, tc.want)
		}
	}
}
