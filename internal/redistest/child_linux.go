package redistest

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"time"
)

// childSysProcAttr makes the kernel SIGKILL a started redis-server when the
// test binary dies without running its cleanups (a -timeout panic, or being
// killed), so that no orphan keeps holding a port. The signal follows the
// OS thread that started the child, which the Go runtime keeps alive as
// long as no goroutine exits while locked to it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// awaitStopped returns once the kernel reports pid as stopped, so that a
// test never races a request against a SIGSTOP that has been sent but not
// yet taken effect.
func awaitStopped(pid int, timeout time.Duration) error {
	statPath := fmt.Sprintf("/proc/%d/stat", pid)
	deadline := time.Now().Add(timeout)
	for {
		stat, err := os.ReadFile(statPath)
		if err != nil {
			return err
		}
		// The state follows the command name, which is in parentheses
		// and may itself contain ") ".
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'T' {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d not stopped after %v", pid, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}
