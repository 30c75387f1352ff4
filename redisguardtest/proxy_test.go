package redisguardtest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard/redisguardtest"
)

func TestProxyFaults(t *testing.T) {
	srv := redisguardtest.StartServer(t)
	proxy := redisguardtest.StartProxy(t, srv.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, ReadTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	ping := func() error { return rdb.Ping(ctx).Err() }
	if err := ping(); err != nil {
		t.Fatal(err)
	}

	proxy.SetLatency(250 * time.Millisecond) // a round trip of at least 500 ms, well past the read timeout
	var ne net.Error
	if err := ping(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("PING with 2×250 ms of latency and a 300 ms read timeout: %v, want a timeout", err)
	}

	proxy.Down()
	if _, err := net.DialTimeout("tcp", proxy.Addr(), time.Second); err == nil {
		t.Fatal("a dial while down succeeded")
	}
	proxy.Up() // the latency is still set
	if err := ping(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("PING after Up, latency still set: %v, want a timeout", err)
	}
	proxy.SetLatency(0)
	if err := ping(); err != nil {
		t.Fatalf("PING after the latency was removed: %v", err)
	}

	proxy.Pause()
	conn, err := net.DialTimeout("tcp", proxy.Addr(), time.Second)
	if err != nil {
		t.Fatalf("a dial while paused: %v, want it accepted", err)
	}
	conn.Close()
	if err := ping(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("PING while paused: %v, want a timeout", err)
	}
	proxy.Resume()
	if err := ping(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}

	srv.Kill()
	if err := ping(); err == nil {
		t.Fatal("PING after Kill succeeded")
	}
	srv.Restart()
	if err := ping(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}
