// Package circuit is the state machine of every circuit breaker: the public
// breaker package wraps it for users, and the root package drives it
// directly from its connections.
//
// # Contract
//
// New takes Settings that breaker.Settings validated (New checks them again
// and applies the same defaults). Allow admits a call and returns a Ticket,
// or ErrOpen; Done reports that call's outcome, exactly once. Besides the
// calls it admitted, a closed Breaker counts outcomes observed elsewhere:
// Record (one outcome) and RecordSuccess (a success, into a Tally that one
// connection keeps in its own memory and closes when it closes); once
// RecordSuccess attached a Tally to a closed phase, Tally.Success counts the
// next ones without the Breaker, until that phase ends or Retire tells the
// Breaker another replaces it. All of them count only while closed: a
// half-open Breaker judges its probes alone, and
// Ticket.Probe tells a caller that its call is one whose outcome must reach
// Done. ServerAnswered ends an open Breaker's open time at once, when the
// caller has seen the server answer in time since it opened.
//
// While closed, Allow, Done, Record, RecordSuccess and Tally.Success take no
// lock and allocate nothing; sony/gobreaker's two-step breaker does the opening,
// the half-open probes and the closing (see Breaker). Outcomes reported
// after the Breaker changed state are ignored, as in gobreaker.
package circuit
