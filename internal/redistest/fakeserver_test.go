package redistest

import (
	"bufio"
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// A go-redis client gets through the handshake and its commands get the
// answers given, on the connection numbered from 1.
func TestFakeServerAnswersAsTold(t *testing.T) {
	s := StartFakeServer(t, func(conn int, cmd []string, w *bufio.Writer) bool {
		if AnswerHandshake(cmd, w) {
			return true
		}
		if cmd[0] == "GET" && conn == 1 {
			w.WriteString("$" + strconv.Itoa(len(cmd[1])) + "\r\n" + cmd[1] + "\r\n")
			return true
		}
		return false
	})
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), PoolSize: 1, MaxRetries: -1})
	defer rdb.Close()
	if got, err := rdb.Get(context.Background(), "echo").Result(); err != nil || got != "echo" {
		t.Fatalf("GET: %q, %v; want the key back", got, err)
	}
	if err := rdb.Set(context.Background(), "k", "v", 0).Err(); err == nil {
		t.Fatal("SET, which the server answers by closing: no error")
	}
	if n := s.Accepted(); n != 1 {
		t.Fatalf("%d connections accepted, want 1", n)
	}
}
