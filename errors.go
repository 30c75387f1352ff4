package redisguard

import "errors"

// Errors returned by the client's admission step. Each is set on the command as well
// (cmd.Err()), and errors.Is holds on both the returned error and cmd.Err().
var (
	// ErrClosed is returned for every command issued after Close.
	ErrClosed = errors.New("redisguard: client closed")

	// ErrQueueFull is returned at once, without waiting, when Options.QueueLimit
	// commands are already in flight or waiting.
	ErrQueueFull = errors.New("redisguard: command queue full")

	// ErrNotReady is returned at once when the client has no usable connection
	// (connecting or reconnecting) and Options.OfflineQueue is off.
	ErrNotReady = errors.New("redisguard: client not ready")

	// ErrMaxRetriesReached means the reconnect strategy gave up. The client is then
	// closed for good: the error returned by every later command, and passed to
	// Hooks.OnError and Hooks.OnEnd, wraps it together with the last connection error.
	ErrMaxRetriesReached = errors.New("redisguard: max reconnect retries reached")

	// ErrUnsupportedClient is returned by Wrap for a go-redis client type it cannot
	// supervise (a Ring, for example).
	ErrUnsupportedClient = errors.New("redisguard: unsupported client type")
)
