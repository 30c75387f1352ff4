// Package outcome is the one table of what an error means to redisguard:
// whether the command may be sent again, whether its server is lost (the
// node reconnects), and what the server's circuit breaker counts.
//
// An error is first sorted into a Kind by Table.Kind, which tries the rules
// in a fixed order (the first that matches wins); the Kind and the Phase in
// which the error came (the command's own outcome, or the setup of the
// connection it needed, before anything of the command was written) then
// select one Row. Everything in redisguard that handles an error reads its
// row: the safe retries, the supervisor (lost), the cluster hook (may the
// cluster's loop resend), the handshake guard and the breaker's verdict.
// breaker.IsFailure, the classifier of a breaker used on its own, reads the
// DefaultFailure column.
//
// A new kind of error is one new Kind, its rows, and one table test.
package outcome

// Kind is what an error is, before its phase is known.
type Kind uint8

// The kinds, in the order Table.Kind tries them.
const (
	// OK is no error.
	OK Kind = iota
	// Answer is a reply of a working server: redis.Nil, WRONGTYPE, a syntax
	// error, NOSCRIPT, OOM, and any other error reply no later kind names.
	Answer
	// DialRefused: the connection could not be made, and not for lack of
	// time (refused, unreachable): nothing was written, and the server is gone.
	DialRefused
	// DialTimeout: the connection could not be made in time.
	DialTimeout
	// NotSent: the command never left the process (its node was not ready,
	// its connection's setup failed, or its connection was closed before the
	// write began).
	NotSent
	// Switched: the command was written to a Sentinel master that another
	// server has replaced since (its connection was cut at the switch, or
	// answered after it): it may have run on the old master, and says
	// nothing of the new one.
	Switched
	// Refused: this process refused the command before sending it (the
	// client is closed, the queue is full, the breaker is open).
	Refused
	// PoolTimeout: no pooled connection came in time.
	PoolTimeout
	// CallerGone: the caller's context ended.
	CallerGone
	// Loading: LOADING, MASTERDOWN, NOREPLICAS: the server refused the
	// command without executing it, for a while.
	Loading
	// MaxClients: ERR max number of clients reached.
	MaxClients
	// ReadOnly: READONLY, a replica's (or a demoted master's) refusal of a write.
	ReadOnly
	// ClusterChurn: CLUSTERDOWN, TRYAGAIN: the cluster around the node is changing.
	ClusterChurn
	// Redirect: MOVED, ASK: the slot lives elsewhere.
	Redirect
	// Unable: BUSY (a script or function is running), MISCONF (the server
	// cannot persist and refuses writes).
	Unable
	// Auth: WRONGPASS, NOAUTH, NOPERM, ERR invalid password, ERR AUTH.
	Auth
	// Timeout: no reply in time, after the command may have been written.
	Timeout
	// Dropped: the connection broke (reset, closed, end of file) after the
	// command may have been written.
	Dropped
	// Network: a network error that is neither a timeout nor a broken
	// connection.
	Network
	// Other: an error no rule above names (a protocol error, say).
	Other
	// Abandoned: a Timeout or a Dropped connection once the caller's
	// deadline had passed or its context ended (see Table.OfCall): the
	// caller's doing, the server may be fine.
	Abandoned

	numKinds
)

// Phase is when the error came, relative to the write of the command.
type Phase uint8

const (
	// Command: the command's own outcome; it may have been written.
	Command Phase = iota
	// Setup: the setup of the connection the command needed (HELLO, AUTH,
	// CLIENT SETINFO, …) failed: the command itself was not written.
	Setup

	numPhases
)

// Resend says whether a failed command may run again.
type Resend uint8

const (
	// Never: it may have run, or running it again cannot help.
	Never Resend = iota
	// Always: it surely never reached the server.
	Always
	// IfReadOnly: it may have reached the server, so only a read-only
	// command may run again.
	IfReadOnly
	// AfterBackoff: the server refused it without running it; it may run
	// again after a backoff.
	AfterBackoff
)

// Lost says whether the error shows the node's server lost, so that the node
// reconnects.
type Lost uint8

const (
	// Kept: the server is not lost.
	Kept Lost = iota
	// Yes: the server is lost.
	Yes
	// IfMaster: lost when the node is the master of a Sentinel group (a
	// master that answers READONLY was demoted).
	IfMaster
)

// Count is what a redisguard.Client does with the outcome on its server's
// breaker.
type Count uint8

const (
	// Excluded: never counted, and never given to the breaker's IsFailure.
	Excluded Count = iota
	// Judged: given to the breaker (Settings.IsExcluded, then
	// Settings.IsFailure), which counts it as a failure or a success. Row's
	// DefaultFailure says which, with the default classifier.
	Judged
)

// Row is what one kind of error means in one phase.
type Row struct {
	Resend Resend
	Lost   Lost
	// MayHaveRun: the command may have reached the server and run; sending
	// a write again could apply it twice.
	MayHaveRun bool
	// Gone: the server refused or closed the connection (gone), as opposed
	// to being slow.
	Gone bool
	// Breaker is what a Client's breaker does with the outcome.
	Breaker Count
	// DefaultFailure is breaker.IsFailure's answer: whether a breaker used
	// on its own counts it as a failure. Excluded rows say it too: a breaker
	// around any call has no connection that judges time or topology.
	DefaultFailure bool
	// Why explains the row.
	Why string
}

var kindNames = [numKinds]string{
	OK: "OK", Answer: "Answer", DialRefused: "DialRefused", DialTimeout: "DialTimeout",
	NotSent: "NotSent", Switched: "Switched", Refused: "Refused", PoolTimeout: "PoolTimeout", CallerGone: "CallerGone",
	Loading: "Loading", MaxClients: "MaxClients", ReadOnly: "ReadOnly", ClusterChurn: "ClusterChurn",
	Redirect: "Redirect", Unable: "Unable", Auth: "Auth", Timeout: "Timeout", Dropped: "Dropped",
	Network: "Network", Other: "Other", Abandoned: "Abandoned",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(?)"
}
