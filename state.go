package redisguard

// State is where the client is in its connection lifecycle:
//
//	connecting → ready → reconnecting → ready … → closed
//
// Commands run only in StateReady; in the other states they are refused at once
// (or, with Options.OfflineQueue, wait for StateReady).
type State int32

const (
	// StateConnecting: New returned and the first connection is being made.
	StateConnecting State = iota
	// StateReady: the server answered; commands run.
	StateReady
	// StateReconnecting: the connection was lost; the supervisor is retrying
	// according to Options.Reconnect.
	StateReconnecting
	// StateClosed: Close was called or the reconnect strategy gave up. Final.
	StateClosed
)

// String gives connecting, ready, reconnecting or closed.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateReady:
		return "ready"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	default:
		return "unknown"
	}
}
