// Package wire is what a node puts between go-redis's pool and the server:
// each connection measures the server's own time for its replies, drains
// the replies its caller abandoned, and refuses replies over the client's
// limits.
//
// # Contract
//
// A node (the Owner) makes one Endpoint, fixed for its life, and wraps
// every connection its pool dials with Wrap. A Conn then, on the goroutine
// that uses it:
//
//   - records the reply Clock's stamp at the first write of a request, and
//     judges the reply when its first byte arrives: slower than the
//     breaker's SlowCallThreshold from the write (an eighth of the threshold
//     in the server's favour), Owner.Slow; any other reply that is not an
//     error, a success counted in the Conn's own circuit.Tally (or, the
//     breaker not closed, Owner.Answered). Error replies are the command's
//     to report; setup replies (HELLO, AUTH, …) and replies go-redis waits
//     for longer than JudgeLimit (blocking commands) are not judged.
//   - closed with a judged reply pending, hands itself to the Drainer,
//     which reads until the threshold: a reply, Owner.Refund,
//     Owner.Answered and Owner.Replace; none, Owner.Slow. Closed with
//     nothing pending, Owner.Refund at once, and Owner.Replace too when
//     it served and its last request failed to leave only because the
//     caller's deadline had passed.
//   - refuses a reply whose header breaks Limits (ErrReplyTooLarge, naming
//     the server and the Options field) before go-redis reads it, on that
//     read and every later one.
//   - dialed under an earlier Endpoint.Gen, refuses to write
//     (ErrWriteOnClosed: the request never left) and leaves what it reads
//     to Owner.AfterSwitch.
//
// The package reads no clock of its own (Endpoint.Now) and starts no
// goroutine but through the Drainer's goBackground, so its tests run over
// net.Pipe with a fake Owner and no server.
package wire
