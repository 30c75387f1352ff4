package redistest

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// Client returns a plain go-redis client connected straight to the server,
// for a test to set up and check state independently of the code under
// test. It never retries (MaxRetries -1), so every error a test sees is
// one the server or network really produced, and it authenticates when the
// server's config had a requirepass. t.Cleanup closes it.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr:       s.Addr(),
		Password:   s.password,
		MaxRetries: -1,
	})
	t.Cleanup(func() { _ = client.Close() })
	return client
}
