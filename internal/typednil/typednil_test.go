package typednil_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/internal/typednil"
)

func TestIs(t *testing.T) {
	var (
		nilClient  *redis.Client
		nilCluster *redis.ClusterClient
		nilFunc    func()
		nilMap     map[string]int
	)
	live := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer live.Close()
	for _, c := range []struct {
		name string
		v    any
		want bool
	}{
		{"nil", nil, true},
		{"nil *redis.Client", nilClient, true},
		{"nil *redis.Client as UniversalClient", redis.UniversalClient(nilClient), true},
		{"nil *redis.ClusterClient", nilCluster, true},
		{"nil func", nilFunc, true},
		{"nil map", nilMap, true},
		{"a client", live, false},
		{"a client as UniversalClient", redis.UniversalClient(live), false},
		{"a struct", struct{}{}, false},
		{"an int", 0, false},
	} {
		if got := typednil.Is(c.v); got != c.want {
			t.Errorf("Is(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}
