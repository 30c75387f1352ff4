package doctor

import (
	"fmt"
	"time"
)

// Defaults of the zero Options.
const (
	// DefaultTimeout bounds the whole audit: a paused server or a node that
	// stops answering halfway cannot hold a start-up or a CI job longer.
	DefaultTimeout = 5 * time.Second
	// DefaultCommandTimeout bounds each command and the second connection
	// that the auth check opens.
	DefaultCommandTimeout = time.Second
)

// Role says what the server is for. The checks of memory, eviction and
// persistence judge the server by it: a cache must evict and may lose its
// contents; a store must do neither.
type Role string

const (
	// RoleCache is a server whose contents can be rebuilt from a source of
	// truth (the cache-aside pattern of package cache). It is the default.
	RoleCache Role = "cache"
	// RoleStore is a server that holds data found nowhere else: sessions,
	// queues, counters, locks.
	RoleStore Role = "store"
)

// ParseRole returns the Role named s ("cache" or "store").
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleCache, RoleStore:
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q is neither %q nor %q", ErrInvalidOptions, s, RoleCache, RoleStore)
}

// Options configures Run. The zero Options audits a cache within 5 s, each
// command within 1 s.
type Options struct {
	// Role is what the server is for; empty means RoleCache.
	Role Role

	// Timeout bounds the whole audit, on top of any deadline of the context
	// given to Run. Zero means DefaultTimeout.
	Timeout time.Duration

	// CommandTimeout bounds each command, and the dial and PING of the
	// connection without credentials that the auth check opens. A command
	// that gets no answer in time marks its server as not answering: the
	// checks that remain for it are skipped at once and Report.Err is set.
	// Zero means DefaultCommandTimeout; it may not exceed Timeout.
	CommandTimeout time.Duration
}

// settings are Options with the defaults applied.
type settings struct {
	role           Role
	timeout        time.Duration
	commandTimeout time.Duration
}

// settings validates o and applies the defaults; the error names the field.
func (o Options) settings() (settings, error) {
	s := settings{role: o.Role, timeout: o.Timeout, commandTimeout: o.CommandTimeout}
	if s.role == "" {
		s.role = RoleCache
	}
	if _, err := ParseRole(string(s.role)); err != nil {
		return s, fmt.Errorf("%w: Options.Role %q is neither %q nor %q", ErrInvalidOptions, o.Role, RoleCache, RoleStore)
	}
	if s.timeout < 0 {
		return s, fmt.Errorf("%w: Options.Timeout %v is negative", ErrInvalidOptions, o.Timeout)
	}
	if s.commandTimeout < 0 {
		return s, fmt.Errorf("%w: Options.CommandTimeout %v is negative", ErrInvalidOptions, o.CommandTimeout)
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.commandTimeout == 0 {
		s.commandTimeout = min(DefaultCommandTimeout, s.timeout)
	}
	if s.commandTimeout > s.timeout {
		return s, fmt.Errorf("%w: Options.CommandTimeout %v exceeds Options.Timeout %v", ErrInvalidOptions, s.commandTimeout, s.timeout)
	}
	return s, nil
}
