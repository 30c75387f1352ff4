// Command quickstart shows the guarded client's lifecycle in a few lines: it
// connects, works, and logs every lifecycle event.
//
//	go run ./examples/quickstart                        # an embedded Redis
//	REDIS_URL=redis://localhost:6379/0 go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redisguard/redisguard"
)

func main() {
	if err := run(); err != nil {
		slog.Error("quickstart failed", "err", err)
		os.Exit(1)
	}
}

func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	url := os.Getenv("REDIS_URL")
	if url == "" {
		srv, err := miniredis.Run()
		if err != nil {
			return err
		}
		defer srv.Close()
		url = "redis://" + srv.Addr() + "/0"
		log.Info("REDIS_URL is not set: using an embedded miniredis", "addr", srv.Addr())
	}

	rdb, err := redisguard.New(redisguard.Options{URL: url, Logger: log})
	if err != nil {
		return err
	}
	defer rdb.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.WaitReady(ctx); err != nil {
		return err
	}
	if err := rdb.Set(ctx, "quickstart:greeting", "hello from redisguard", time.Minute).Err(); err != nil {
		return err
	}
	greeting, err := rdb.Get(ctx, "quickstart:greeting").Result()
	if err != nil {
		return err
	}
	fmt.Printf("%s (client %s, %d commands queued)\n", greeting, rdb.State(), rdb.QueueLen())
	return nil
}
