package outcome

// rows is the table: rows[phase][kind]. A kind missing from the Setup phase
// means the same as in the Command phase (see Of).
var rows = [numPhases][numKinds]Row{
	Command: {
		OK: {Breaker: Judged,
			Why: "success: a connection counts it, or the probe that ran it"},
		Answer: {Breaker: Judged,
			Why: "a reply of a working server (redis.Nil, WRONGTYPE, NOSCRIPT, OOM…): the command ran"},
		DialRefused: {Resend: Always, Gone: true, DefaultFailure: true,
			Why: "nothing was written; the supervisor judges dials, never the breaker"},
		DialTimeout: {Resend: Always, DefaultFailure: true,
			Why: "nothing was written; the supervisor judges dials, never the breaker"},
		NotSent: {Resend: Always, DefaultFailure: true,
			Why: "the command never left; a failed setup is the supervisor's (handshakes are not counted)"},
		Switched: {Resend: IfReadOnly, MayHaveRun: true, DefaultFailure: true,
			Why: "written to a Sentinel master replaced since: a read runs again on the new master; a write may have run on the old one and is not resent; it says nothing of the new master, which is not lost for it"},
		Refused: {
			Why: "this process refused it; it says nothing about the server"},
		PoolTimeout: {DefaultFailure: true,
			Why: "a pool wait is the process's time, not the server's; alone, a breaker has no better sign of a server that holds its connections"},
		CallerGone: {
			Why: "the caller gave up: it says nothing about the server"},
		Loading: {Resend: AfterBackoff, Breaker: Judged, DefaultFailure: true,
			Why: "refused unexecuted while the server loads or has no master/replicas: resent after a backoff, as go-redis does"},
		MaxClients: {Resend: AfterBackoff, Breaker: Judged, DefaultFailure: true,
			Why: "refused unexecuted: the server is full, not gone; resent after a backoff, as go-redis does"},
		ReadOnly: {Resend: AfterBackoff, Lost: IfMaster, DefaultFailure: true,
			Why: "a replica answers: healthy, but not the master; a master that says it was demoted, and the topology finds the new one"},
		ClusterChurn: {Resend: AfterBackoff, DefaultFailure: true,
			Why: "about the cluster around the node, not the node: resent after a backoff, as go-redis does"},
		Redirect: {
			Why: "about where the slot lives: go-redis's cluster client follows it"},
		Unable: {Breaker: Judged, DefaultFailure: true,
			Why: "BUSY lasts until a script ends (or is killed), MISCONF until an operator fixes persistence: a resend within a backoff only adds load, and go-redis does not resend them either; but the server cannot serve, so the breaker counts them"},
		Auth: {
			Why: "about the credentials, not the server's health"},
		Timeout: {Lost: Yes, MayHaveRun: true, DefaultFailure: true,
			Why: "it may have run, and a second wait would double the delay; time is judged from the write by the connection, never from this error"},
		Dropped: {Resend: IfReadOnly, Lost: Yes, MayHaveRun: true, Gone: true, DefaultFailure: true,
			Why: "the connection broke after the write may have begun: only a read runs again; the supervisor reconnects, the breaker is not told"},
		Network: {Breaker: Judged, DefaultFailure: true,
			Why: "a network error that neither times out nor breaks the connection: the breaker's classifier decides"},
		Other: {Breaker: Judged,
			Why: "an error no row names: the breaker's classifier decides"},
		Abandoned: {
			Why: "the caller's deadline passed or it cancelled: its doing, the server may be fine"},
	},
	Setup: {
		MaxClients: {Resend: Always, DefaultFailure: true,
			Why: "the connection was refused for max clients: the command was not written; new dials pause, pooled connections serve"},
		Auth: {Lost: Yes,
			Why: "refused credentials: the supervisor takes over on its schedule instead of every command dialing into the refusal"},
		Timeout: {Resend: Always, Lost: Yes, DefaultFailure: true,
			Why: "the setup timed out: the command was not written; the server is lost"},
		Dropped: {Resend: Always, Lost: Yes, Gone: true, DefaultFailure: true,
			Why: "the connection broke during its setup: the command was not written; the server is lost"},
		Abandoned: {Resend: Always,
			Why: "the setup failed after the caller's deadline: the command was not written; the caller's doing"},
		Switched: {Resend: Always,
			Why: "the setup of a connection to a Sentinel master replaced since failed: the command was not written, and goes to the new master"},
	},
}

// setupRows are the kinds the Setup phase has rows of its own for.
var setupRows = [numKinds]bool{MaxClients: true, Auth: true, Timeout: true, Dropped: true, Abandoned: true, Switched: true}

// Of returns the row of kind k in phase p.
func Of(k Kind, p Phase) Row {
	if p == Setup && !setupRows[k] {
		p = Command
	}
	return rows[p][k]
}
