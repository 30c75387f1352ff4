package doctor

import "errors"

// Errors of Report.Err: the audit could not run, or not to its end. They are
// wrapped with the reason; test them with errors.Is.
var (
	// ErrInvalidOptions is a bad Options field or a nil client; the error
	// names the field.
	ErrInvalidOptions = errors.New("doctor: invalid options")
	// ErrUnreachable is a server that did not answer: refused or reset
	// connections, no answer within the command timeout (a paused or
	// overloaded server), or an error reply to PING such as LOADING.
	ErrUnreachable = errors.New("doctor: the server did not answer")
	// ErrAuthentication is a server that refused the client's credentials,
	// or asked for credentials the client does not have.
	ErrAuthentication = errors.New("doctor: authentication failed")
)
