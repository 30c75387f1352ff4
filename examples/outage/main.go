// Command outage shows the whole library through a Redis outage, in under a
// minute, on an embedded Redis: a product cache serves steady traffic; Redis
// stalls (it answers LOADING) and the circuit breaker opens; Redis crashes and
// the client reconnects with backoff; Redis comes back and everything heals.
// Meanwhile every request is answered, from Redis or from the database. It
// prints what happens as it happens, and a table at the end.
//
//	go run ./examples/outage
//	go run ./examples/outage -short    # the same story in a few seconds
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	short := flag.Bool("short", false, "run every phase briefly")
	flag.Parse()
	t := fullTiming
	if *short {
		t = shortTiming
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := run(ctx, os.Stdout, t)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outage:", err)
		os.Exit(1)
	}
	s.print(os.Stdout)
}
