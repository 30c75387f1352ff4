//go:build !linux

package redistest

import (
	"syscall"
	"time"
)

// childSysProcAttr returns nil: only Linux can tie the child's life to the
// test binary, so elsewhere cleanup alone stops the server.
func childSysProcAttr() *syscall.SysProcAttr {
	return nil
}

// awaitStopped returns at once: without /proc there is no cheap way to
// observe the stop, and the signal takes effect within microseconds.
func awaitStopped(int, time.Duration) error {
	return nil
}
