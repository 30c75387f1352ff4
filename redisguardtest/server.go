package redisguardtest

import (
	"testing"

	"github.com/redisguard/redisguard/internal/redistest"
)

// Server is a redis-server process owned by one test, with persistence off.
type Server struct{ s *redistest.Server }

// StartServer starts a redis-server for tb on a free loopback port and
// returns once it answers PING; tb.Cleanup kills it. Each config item is a
// redis.conf line, such as "maxmemory 10mb".
func StartServer(tb testing.TB, config ...string) *Server {
	tb.Helper()
	return &Server{redistest.StartServer(tb, config...)}
}

// Addr returns "127.0.0.1:<port>".
func (s *Server) Addr() string { return s.s.Addr() }

// Kill kills the server (SIGKILL) and returns once it has exited: new
// connections are refused, established ones reset.
func (s *Server) Kill() { s.s.Kill() }

// Restart brings the server back on the same port, empty, and returns once it
// answers PING.
func (s *Server) Restart() { s.s.Restart() }
