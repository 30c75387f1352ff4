package main

import "testing"

func TestQuickstartRunsOnTheEmbeddedServer(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
