package breaker

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestDo(t *testing.T) {
	ctx := context.Background()
	fallback := func(_ context.Context, err error) (string, error) { return "from the database", nil }
	b, _ := New(Settings{ConsecutiveFailures: 2})

	v, err := Do(ctx, b, func(context.Context) (string, error) { return "from redis", nil }, fallback)
	if v != "from redis" || err != nil {
		t.Fatalf("success: %q, %v", v, err)
	}
	// A reply showing Redis works is returned as it is, without the fallback.
	if _, err := Do(ctx, b, func(context.Context) (string, error) { return "", redis.Nil }, fallback); err != redis.Nil {
		t.Fatalf("redis.Nil: %v", err)
	}
	// A failure answers from the fallback and is counted.
	for range 2 {
		v, err = Do(ctx, b, func(context.Context) (string, error) { return "", errReset }, fallback)
		if v != "from the database" || err != nil {
			t.Fatalf("failure: %q, %v", v, err)
		}
	}
	if b.State() != StateOpen {
		t.Fatalf("state %v after 2 failures", b.State())
	}
	// Open: the function is not called.
	called := false
	var seen error
	v, err = Do(ctx, b, func(context.Context) (string, error) { called = true; return "", nil },
		func(_ context.Context, err error) (string, error) { seen = err; return "fallback", nil })
	if called || v != "fallback" || err != nil || !errors.Is(seen, ErrOpen) {
		t.Fatalf("open: called %v, %q, %v, fallback saw %v", called, v, err, seen)
	}
	// Without a fallback the error is returned.
	if _, err := Do[string](ctx, b, func(context.Context) (string, error) { return "", nil }, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("open without fallback: %v", err)
	}
}

func TestDoCountsAPanicAsAFailure(t *testing.T) {
	b, _ := New(Settings{ConsecutiveFailures: 1})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not go on up")
			}
		}()
		_, _ = Do(context.Background(), b, func(context.Context) (int, error) { panic("boom") }, nil)
	}()
	if b.State() != StateOpen {
		t.Fatalf("state %v after a panic, want open", b.State())
	}
}
