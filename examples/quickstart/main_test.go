package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestQuickstartRunsOnTheEmbeddedServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("REDIS_URL", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
