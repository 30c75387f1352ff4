package redisguard_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
)

// go-redis logs some records of its own (a pool's failed dials, a Sentinel
// failover) through one logger for the whole process, on the standard error
// by default. Send them to the program's slog logger once, at the start of
// main.
func ExampleNewGoRedisLogger() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	redis.SetLogger(redisguard.NewGoRedisLogger(logger.With("component", "go-redis")))

	rdb, err := redisguard.New(redisguard.Options{
		URL:    os.Getenv("REDIS_URL"),
		Logger: logger.With("component", "redis"), // the client's own events
	})
	if err != nil {
		logger.Error("redis options", "err", err)
		os.Exit(1)
	}
	defer rdb.Close()
}

// A password may hold any character once it is percent-encoded; New refuses a
// URL whose password would be cut short, without showing any of it.
func ExampleOptions_password() {
	password := "Tr0ub4dor#3x" // as read from a secret store

	_, err := redisguard.New(redisguard.Options{URL: "redis://:" + password + "@127.0.0.1:6379/0"})
	var oe *redisguard.OptionError
	fmt.Println(errors.As(err, &oe), oe.Field)

	u := url.URL{Scheme: "redis", User: url.UserPassword("", password), Host: "127.0.0.1:6379", Path: "/0"}
	fmt.Println(u.String())
	// Output:
	// true URL
	// redis://:Tr0ub4dor%233x@127.0.0.1:6379/0
}

// A client configured for TLS that is pointed at a plaintext port fails its
// first attempt at once, with ErrServerNotTLS, instead of waiting out the
// connect timeout.
func ExampleErrServerNotTLS() {
	rdb, err := redisguard.New(redisguard.Options{
		URL: "rediss://127.0.0.1:6379", // the plaintext port: a mistake
		Hooks: redisguard.Hooks{OnError: func(err error) {
			if errors.Is(err, redisguard.ErrServerNotTLS) {
				slog.Error("Redis: wrong port or scheme", "err", err)
			}
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = rdb.WaitReady(ctx)
}
