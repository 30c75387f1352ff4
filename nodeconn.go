package redisguard

import (
	"net"

	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/circuit"
	"github.com/redisguard/redisguard/internal/wire"
)

// wrapConn wraps a connection the node's pool just dialed under the address
// generation gen (see wire.Conn).
func (n *node) wrapConn(conn net.Conn, gen uint32) net.Conn { return wire.Wrap(n.ep, conn, gen) }

// connOwner is a node as its connections see it: the wire.Owner they report
// to.
type connOwner node

func (o *connOwner) node() *node { return (*node)(o) }

func (o *connOwner) Address() string                           { return o.node().address() }
func (o *connOwner) Breaker() *circuit.Breaker                 { return o.breaker.Load() }
func (o *connOwner) Opened(c *wire.Conn)                       { o.node().track(c) }
func (o *connOwner) Closed(c *wire.Conn)                       { o.node().untrack(c) }
func (o *connOwner) Accepted()                                 { o.dials.Accepted() }
func (o *connOwner) Refund()                                   { o.dials.Refund() }
func (o *connOwner) Slow(b *circuit.Breaker, stamp uint64)     { o.node().chargeSlow(b, stamp) }
func (o *connOwner) Answered(b *circuit.Breaker, stamp uint64) { o.node().answered(b, stamp) }
func (o *connOwner) AfterSwitch(c *wire.Conn, p []byte, n int, err error) (int, error) {
	return o.node().afterSwitch(c, p, n, err)
}

// chargeSlow counts one slow call of the node's server, on the request whose
// write recorded stamp, on b. While b is half-open, it is left for the next
// probe to finish, which is charged with it (see verdict): a half-open
// breaker judges its probes alone. A request written before the breaker
// opened is not: it judges the server as it was then, which the breaker did.
func (n *node) chargeSlow(b *circuit.Breaker, stamp uint64) {
	if !b.Record(breaker.ErrSlowCall) && b.State() == circuit.StateHalfOpen && !n.writtenBeforeOpening(stamp) {
		n.slowReplies.Add(1)
	}
}

// takeSlowReply charges the calling command with one of the node's slow
// replies, if there is one.
func (n *node) takeSlowReply() bool {
	for {
		v := n.slowReplies.Load()
		if v <= 0 {
			return false
		}
		if n.slowReplies.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
