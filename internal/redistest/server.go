package redistest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startAttempts bounds how often StartServer picks a new port after
	// losing the race for a free one to another process.
	startAttempts = 5
	// readyTimeout is how long a started server has to answer PING.
	readyTimeout = 10 * time.Second
	// rebindTimeout is how long Restart keeps retrying its old port.
	rebindTimeout = 3 * time.Second
	// stopTimeout bounds the wait for a SIGSTOP to take effect.
	stopTimeout = 2 * time.Second
	// logTailLines is how much of the server's log a failure shows.
	logTailLines = 40
)

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port already in use")

// Server is a redis-server process owned by one test. It listens on
// 127.0.0.1 and keeps its port for its whole life, across Kill and
// Restart, so clients and proxies configured with its address keep
// pointing at it. Its methods may be called from any goroutine, except
// that those which can fail the test (Stop, Continue, Restart) follow the
// rules of t.Fatal.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	config   []string
	args     []string // after the config file, e.g. --sentinel
	password string
	port     int // set before StartServer returns, then never changed
	// keepConfig leaves the config file as the server rewrote it (a
	// Sentinel records what it learned, CONFIG REWRITE records a
	// REPLICAOF) when it is restarted, as a real host's file would be.
	keepConfig bool

	mu      sync.Mutex // serialises the lifecycle methods
	runs    int        // processes started, numbering their log files
	proc    *process   // the running process, nil after Kill
	stopped bool       // paused by Stop and not yet continued
}

// StartServer starts a redis-server for t on a free loopback port, in a
// fresh t.TempDir(), and returns once it answers PING.
//
// Persistence is off, so a killed server comes back empty. Each config
// item is one full redis.conf directive line, such as "maxmemory 10mb" or
// "requirepass s3cret", applied after the harness's own settings; it must
// not change bind or port. If the server does not answer within about 10s
// the test fails, showing the tail of the server's log. t.Cleanup kills
// the server and reaps it.
func StartServer(t testing.TB, config ...string) *Server {
	t.Helper()
	return start(t, config)
}

// start runs redis-server with the config lines and extra command-line
// arguments on a free port.
func start(t testing.TB, config []string, args ...string) *Server {
	t.Helper()
	s := newServer(t, config, args...)
	s.startOn(freePort)
	return s
}

// newServer prepares a server for t without starting it; startOn starts it.
func newServer(t testing.TB, config []string, args ...string) *Server {
	t.Helper()
	return &Server{
		t:        t,
		bin:      RedisServerPath(t),
		dir:      t.TempDir(),
		config:   slices.Clone(config),
		args:     args,
		password: passwordFrom(config),
	}
}

// startOn starts the server on a port from pickPort, picking another one
// when it loses the race for it, and registers its cleanup.
func (s *Server) startOn(pickPort func() (int, error)) {
	s.t.Helper()
	s.t.Cleanup(s.Kill)
	for attempt := 1; ; attempt++ {
		port, err := pickPort()
		if err != nil {
			s.t.Fatalf("redistest: find a free port: %v", err)
		}
		s.port = port
		err = s.launch(true)
		if err == nil {
			return
		}
		if !errors.Is(err, errPortInUse) || attempt == startAttempts {
			s.t.Fatalf("redistest: start redis-server: %v", err)
		}
	}
}

// Addr returns "127.0.0.1:<port>", the address clients should dial.
func (s *Server) Addr() string {
	return loopbackAddr(s.port)
}

// Port returns the server's TCP port, which never changes.
func (s *Server) Port() int {
	return s.port
}

// Kill sends SIGKILL and returns once the process has exited, so that new
// connections to the port are refused from then on. Established
// connections see a reset or EOF. Killing a server that is not running
// does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Stop pauses the server with SIGSTOP and returns once it is paused. The
// kernel still completes TCP handshakes into the listen backlog and
// buffers requests, but nothing is answered until Continue, just like an
// overloaded or frozen host.
func (s *Server) Stop() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP, "stop")
}

// Continue resumes a server paused by Stop; it then serves whatever
// requests queued up meanwhile.
func (s *Server) Continue() {
	s.t.Helper()
	s.signal(syscall.SIGCONT, "continue")
}

// Restart brings the server back on the same port with the same config,
// killing it first if it is still running, and returns once it answers
// PING. The data is gone: persistence is off. What a server keeps in its
// own files survives: a cluster node's nodes.conf, so that it rejoins its
// cluster, and the config file of a Sentinel or of a Sentinel group's
// server as the server last rewrote it.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
	// The port may be briefly unavailable (another process grabbed it
	// while it was free); Redis binds with SO_REUSEADDR, so TIME_WAIT
	// connections left by the killed server do not block it.
	deadline := time.Now().Add(rebindTimeout)
	for {
		err := s.launch(!s.keepConfig)
		if err == nil {
			return
		}
		if !errors.Is(err, errPortInUse) || time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart redis-server: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) signal(sig syscall.Signal, verb string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatalf("redistest: cannot %s redis-server on %s: it was killed", verb, s.Addr())
	}
	if err := s.proc.signal(sig); err != nil {
		s.t.Fatalf("redistest: %s redis-server on %s: %v", verb, s.Addr(), err)
	}
	if sig == syscall.SIGSTOP {
		if err := awaitStopped(s.proc.cmd.Process.Pid, stopTimeout); err != nil {
			s.t.Fatalf("redistest: stop redis-server on %s: %v", s.Addr(), err)
		}
	}
	s.stopped = sig == syscall.SIGSTOP
}

func (s *Server) killLocked() {
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
	s.stopped = false
}

// appendConfig adds directive lines at the end of the server's config file,
// where they override earlier ones from its next start on. It is for
// servers that keep their config file across restarts.
func (s *Server) appendConfig(lines ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, "redis.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	for _, line := range lines {
		if _, err := fmt.Fprintln(f, line); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}

// answering reports whether the server can be asked something now: its
// process runs and is not paused by Stop. The harness's own queries (the
// state of a cluster or of a Sentinel group) skip the servers that are not.
func (s *Server) answering() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.stopped {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// logTail returns the last n lines of the log of the server's latest run,
// for failures to show what the server itself said.
func (s *Server) logTail(n int) string {
	s.mu.Lock()
	path := s.logPath()
	s.mu.Unlock()
	log, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return fmt.Sprintf("--- tail of %s ---\n%s", path, tail(string(log), n))
}

func (s *Server) logPath() string {
	return filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.runs))
}

// launch starts a process on s.port, after writing its config file when
// writeConf is set, and waits until it answers PING. On failure the process
// is gone and the error carries the tail of its log; it matches
// errPortInUse when the port was taken.
func (s *Server) launch(writeConf bool) error {
	confPath := filepath.Join(s.dir, "redis.conf")
	if writeConf {
		if err := writeConfig(confPath, s.port, s.config); err != nil {
			return err
		}
	}
	s.runs++
	logPath := s.logPath()
	p, err := startProcess(s.bin, s.dir, confPath, logPath, s.args...)
	if err != nil {
		return err
	}
	if err := awaitReady(p, s.Addr(), readyTimeout); err != nil {
		p.kill()
		log, readErr := os.ReadFile(logPath)
		if readErr != nil {
			return errors.Join(err, readErr)
		}
		if strings.Contains(string(log), "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("redis-server on %s: %w\n--- tail of %s ---\n%s", s.Addr(), err, logPath, tail(string(log), logTailLines))
	}
	s.proc = p
	return nil
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
