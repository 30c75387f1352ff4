package redisguard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// Nodes tells which server is down and why: one for a standalone or Sentinel
// client, every node of the slot map for a cluster.
func ExampleClient_Nodes() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	rdb, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: []string{srv.Addr()}}})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.WaitReady(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, n := range rdb.Nodes() {
		fmt.Println(n.Addr == srv.Addr(), n.State, n.Breaker.State, n.LastError)
	}
	// Output:
	// true ready closed <nil>
}

// WaitReady says why the client could not connect when its context ends
// first.
func ExampleClient_WaitReady() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	addr := srv.Addr()
	srv.Close() // nothing listens there any more
	rdb, err := redisguard.New(redisguard.Options{
		Redis:     &redis.UniversalOptions{Addrs: []string{addr}},
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = rdb.WaitReady(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	fmt.Println(strings.Contains(err.Error(), "connection refused"))
	fmt.Println(strings.Contains(rdb.LastError().Error(), "connection refused"))
	// Output:
	// true
	// true
	// true
}

// A cluster with settings UniversalOptions lacks: reload the slot map every
// 10 s instead of 60 s (the client also reloads it whenever a node is down).
func ExampleOptions_cluster() {
	rdb, err := redisguard.New(redisguard.Options{
		Cluster: &redis.ClusterOptions{
			Addrs:                      []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
			ClusterStateReloadInterval: 10 * time.Second,
		},
		Reconnect: redisguard.ExponentialBackoff{MaxRetries: -1, Jitter: 0.1},
		Hooks: redisguard.Hooks{
			OnNodeError: func(addr string, err error) { log.Printf("redis node %s: %v", addr, err) },
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()
}
