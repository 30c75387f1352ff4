package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// serverStartTimeout bounds the wait for a started redis-server to answer.
const serverStartTimeout = 15 * time.Second

// server is a redis-server process on a loopback port.
type server struct {
	path string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// redisVersion returns the major.minor version of the redis-server at path.
func redisVersion(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	m := regexp.MustCompile(`v=(\d+)\.(\d+)\.`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", path, out)
	}
	return string(m[1]) + "." + string(m[2]), nil
}

// startServer starts redis-server on a free loopback port with the settings
// of go-redis's test server: no persistence, DEBUG and MODULE allowed.
func startServer(ctx context.Context, path, dir string) (*server, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &server{path: path, dir: dir, port: port}
		if lastErr = s.start(ctx); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// freePort returns a loopback TCP port that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the server on s.port and waits until it answers PING. The
// settings are in a config file, as go-redis's CONFIG REWRITE spec needs one.
func (s *server) start(ctx context.Context) error {
	logFile := filepath.Join(s.dir, "redis-server.log")
	config := filepath.Join(s.dir, "redis.conf")
	settings := fmt.Sprintf(`port %d
bind 127.0.0.1
save ""
appendonly no
dir %s
logfile %s
enable-debug-command yes
enable-module-command yes
`, s.port, strconv.Quote(s.dir), strconv.Quote(logFile))
	if err := os.WriteFile(config, []byte(settings), 0o644); err != nil {
		return err
	}
	s.cmd = exec.Command(s.path, config)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(serverStartTimeout)
	for {
		err := ping(s.addr())
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server on port %d exited at start (see %s): %w", s.port, logFile, err)
		case <-ctx.Done():
			s.stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %w", s.port, serverStartTimeout, err)
		}
	}
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// restart replaces the server with a fresh one on the same port, so that a
// run starts from the state the previous one started from.
func (s *server) restart(ctx context.Context) error {
	s.stop()
	return s.start(ctx)
}

// stop kills the server and waits for it to exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// ping sends PING on a new connection and expects PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("PING answered " + strconv.Quote(line))
	}
	return nil
}
