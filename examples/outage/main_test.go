package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestOutageDemo(t *testing.T) {
	var out bytes.Buffer
	s, err := run(context.Background(), &out, shortTiming)
	if err != nil {
		t.Fatal(err)
	}
	s.print(&out)
	t.Log("\n" + out.String())

	if s.Errors != 0 {
		t.Errorf("%d callers saw an error, want 0", s.Errors)
	}
	if s.FromCache == 0 || s.FromLoader == 0 || s.Requests != s.FromCache+s.FromLoader {
		t.Errorf("summary %+v: want answers from both the cache and the loader, and nothing else", s)
	}
	if s.Recovery <= 0 {
		t.Error("Redis answered no request after it came back")
	}
	text := out.String()
	back := strings.Index(text, "Redis is back")
	for _, want := range []string{"Redis stalls", "breaker: closed → open", "Redis crashes", "redis: reconnect attempt 1", "Redis is back"} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
	if i := strings.LastIndex(text, "breaker: half-open → closed"); i < back {
		t.Error("the breaker did not close after Redis came back")
	}
	if i := strings.LastIndex(text, "redis: ready"); i < back {
		t.Error("the client was not ready again after Redis came back")
	}
	for _, row := range []string{"requests", "served from cache", "served by the loader", "errors seen by callers", "time to recover"} {
		if !strings.Contains(text, row) {
			t.Errorf("the table lacks %q", row)
		}
	}
}
