package redistest

import (
	"os"
	"os/exec"
)

// process is one run of redis-server. Its single Wait runs in a goroutine
// started with it, so that the readiness check, Kill and cleanup can all
// observe the exit without racing to reap the child.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and been reaped
	err  error         // Wait's result; read only after done is closed
}

// startProcess runs redis-server with the given config file and arguments in
// dir, its stdout and stderr appended to logPath so that failures can show
// the server's own account of what went wrong.
func startProcess(bin, dir, confPath, logPath string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// The child gets its own copy of the descriptor; an *os.File also
	// spares exec the copying goroutines it needs for other writers.
	defer logFile.Close()

	cmd := exec.Command(bin, append([]string{confPath}, args...)...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// signal delivers sig, failing with os.ErrProcessDone once the child exited.
func (p *process) signal(sig os.Signal) error {
	return p.cmd.Process.Signal(sig)
}

// kill sends SIGKILL and returns once the child is reaped, so that its
// listening socket is gone. SIGKILL also ends a SIGSTOPped process. It is
// a no-op for a child that already exited.
func (p *process) kill() {
	_ = p.cmd.Process.Kill() // fails only when the child already exited
	<-p.done
}
