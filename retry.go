package redisguard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redisguard/redisguard/breaker"
	"github.com/redisguard/redisguard/internal/admission"
	"github.com/redisguard/redisguard/internal/outcome"
	"github.com/redisguard/redisguard/internal/wire"
)

// retryPolicy is the budget of the client's safe retries, read from go-redis's
// MaxRetries, MinRetryBackoff and MaxRetryBackoff with go-redis's defaults.
type retryPolicy struct {
	max        int
	minBackoff time.Duration
	maxBackoff time.Duration
	// busy: replies refusing a command without executing it (LOADING, …) are
	// retried here. A cluster retries those itself.
	busy bool
}

// backoff returns the wait before retry n (1 for the first), as go-redis computes
// it: a random point between minBackoff and minBackoff·2^n, capped at maxBackoff.
func (p retryPolicy) backoff(n int) time.Duration {
	if p.minBackoff <= 0 {
		return 0
	}
	d := p.minBackoff << uint(min(n, 30))
	if d <= p.minBackoff {
		return p.maxBackoff
	}
	d = p.minBackoff + rand.N(d-p.minBackoff)
	return min(d, p.maxBackoff)
}

// afterFailure decides, for a command that failed with err on the node,
// whether the node is lost and whether the command runs again (through
// rerun), and returns the error its caller gets.
//
// A command that may safely run again (it never left, or it is read-only and
// its connection broke) does not dial on its own: it waits for the node's
// next reconnect attempt and runs again if that attempt succeeded (with the
// offline queue, until the node is ready). Callers thus never add connection
// attempts to the supervisor's.
func (n *node) afterFailure(ctx context.Context, err error, readOnly bool, rerun func() error) error {
	free, paused := 0, 0
	// go-redis's own fetch of a slot map asks another node at once.
	rerunnable := ctx.Value(noRerun{}) == nil
	for attempt := 1; ; attempt++ {
		if n.master && errors.Is(err, wire.ErrWriteOnClosed) && free < maxSwitchReruns {
			// A connection to a master replaced since refused to write:
			// the command goes to the new one, whatever the retry budget.
			free++
			attempt--
		}
		if errors.Is(err, admission.ErrDialPaused) && n.rerunsPaused(ctx, paused) {
			// New connections pause: the command takes a pooled one.
			paused++
			if err = rerun(); err == nil {
				return nil
			}
			attempt--
			continue
		}
		retry := rerunnable && attempt <= n.c.retry.max
		kind, row := classify(ctx, err)
		switch row.Resend {
		case outcome.Never:
			if row.Lost == outcome.Yes {
				n.lost(err)
			}
			return err
		case outcome.AfterBackoff:
			if row.Lost == outcome.IfMaster && n.master {
				// The master was demoted: find the new one at once, and
				// wait for it (it refused the command: it may run there).
				n.demoted(err)
				if !retry || n.awaitAttempt(ctx) != nil {
					return err
				}
				break
			}
			if !retry || !n.c.retry.busy || sleep(ctx, n.c.retry.backoff(attempt)) != nil {
				return err
			}
		case outcome.Always:
			if !retry {
				return err
			}
			if n.State() == StateReady {
				// Its connection failed while the node serves (a refused or
				// paused dial, a closed connection): pooled ones free up. A
				// refusal for max clients paused new dials already (see
				// handshakeFailed): the command asks the pool again at
				// once, as one whose dial the pause refused does (see
				// rerunsPaused); after a backoff it would come behind the
				// commands that came since, and might miss its deadline.
				if kind != outcome.MaxClients && sleep(ctx, n.c.retry.backoff(attempt)) != nil {
					return err
				}
			} else if aerr := n.awaitAttempt(ctx); aerr != nil {
				if outcome.IsContextErr(aerr) {
					return err
				}
				return aerr // the node is down: say so, and why
			}
		case outcome.IfReadOnly:
			if row.Lost == outcome.Yes { // not for a master replaced since
				n.lost(err)
			}
			if !retry || !readOnly {
				return err
			}
			if aerr := n.awaitAttempt(ctx); aerr != nil {
				if outcome.IsContextErr(aerr) {
					return err
				}
				return aerr
			}
		}
		if err = rerun(); err == nil {
			return nil
		}
	}
}

// errNotCounted is the outcome the client reports to a breaker for a command
// that says nothing about the server's health, so that it is counted neither as
// a success nor as a failure: the rows of internal/outcome whose Breaker is
// Excluded (its caller gave up, it never left, its connection broke or timed
// out, the reply was about the cluster around the node, the topology or the
// credentials). A probe that the node's networkGate refused
// (another command took its way through, see fromcache.go) is not counted
// either: gobreaker then admits another.
var errNotCounted = errors.New("redisguard: not counted by the breaker")

// verdict is what the breaker counts for a command that ended with err. Time
// is judged only as the server's own, measured by the node's connections from
// the write (see wire.Conn.judge): while the breaker is half-open, a slow call
// they measured is charged to the next probe to finish, whatever its own
// outcome. A timeout sooner than the threshold is left to the drain of its
// connection, which counts it only if the server does not answer within the
// threshold.
func (n *node) verdict(err error) error {
	if n.slowReplies.Load() > 0 && n.takeSlowReply() {
		return breaker.ErrSlowCall
	}
	if err == nil {
		return nil
	}
	if outcome.Of(kindOf(err), outcome.Command).Breaker == outcome.Excluded {
		return errNotCounted
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// takeOverRetries turns the command retries of a client built by the application
// off and returns their budget for the safe retries. The options it reads were
// already normalized by go-redis (0 retries means none).
func takeOverRetries(rdb redis.UniversalClient) (retryPolicy, error) {
	switch r := rdb.(type) {
	case *redis.Client:
		o := r.Options()
		p := retryPolicy{max: o.MaxRetries, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff, busy: true}
		o.MaxRetries = 0
		return p, nil
	case *redis.ClusterClient:
		// The cluster retries on its own, made safe by nodeHook; its nodes
		// must not retry inside (-1 is "none" before a node normalizes it).
		r.Options().MaxRetries = -1
		return clusterRetries(r), nil
	default:
		return retryPolicy{}, fmt.Errorf("%w: %T", ErrUnsupportedClient, rdb)
	}
}

// readOnlyCommands may run twice without changing what the server holds, so a
// command that lost its connection after being written may be sent again.
// Anything not listed (including every module command) is treated as a write.
var readOnlyCommands = map[string]struct{}{
	// keys and strings
	"get": {}, "mget": {}, "getrange": {}, "substr": {}, "strlen": {}, "getbit": {},
	"bitcount": {}, "bitpos": {}, "bitfield_ro": {}, "lcs": {},
	"exists": {}, "type": {}, "ttl": {}, "pttl": {}, "expiretime": {}, "pexpiretime": {},
	"keys": {}, "scan": {}, "randomkey": {}, "dbsize": {}, "dump": {}, "object": {},
	"sort_ro": {},
	// hashes
	"hget": {}, "hmget": {}, "hgetall": {}, "hkeys": {}, "hvals": {}, "hlen": {},
	"hexists": {}, "hstrlen": {}, "hscan": {}, "hrandfield": {},
	// lists
	"lrange": {}, "lindex": {}, "llen": {}, "lpos": {},
	// sets
	"smembers": {}, "sismember": {}, "smismember": {}, "scard": {}, "srandmember": {},
	"sscan": {}, "sinter": {}, "sintercard": {}, "sunion": {}, "sdiff": {},
	// sorted sets
	"zrange": {}, "zrangebyscore": {}, "zrevrange": {}, "zrevrangebyscore": {},
	"zrangebylex": {}, "zrevrangebylex": {}, "zrank": {}, "zrevrank": {}, "zscore": {},
	"zmscore": {}, "zcard": {}, "zcount": {}, "zlexcount": {}, "zscan": {},
	"zrandmember": {}, "zinter": {}, "zintercard": {}, "zunion": {}, "zdiff": {},
	// streams (XREADGROUP moves entries to the pending list, so it is not here)
	"xrange": {}, "xrevrange": {}, "xlen": {}, "xread": {}, "xpending": {},
	// geo
	"geopos": {}, "geodist": {}, "geohash": {}, "georadius_ro": {},
	"georadiusbymember_ro": {}, "geosearch": {},
	// scripts declared read-only
	"eval_ro": {}, "evalsha_ro": {}, "fcall_ro": {},
	// server
	"ping": {}, "echo": {}, "info": {}, "time": {}, "lastsave": {},
}

// readOnly reports whether cmd may safely run twice.
func readOnly(cmd redis.Cmder) bool {
	_, ok := readOnlyCommands[cmd.Name()]
	return ok
}

// allReadOnly reports whether every command of a pipeline or transaction may
// safely run twice. MULTI and EXEC frame a transaction and change nothing.
func allReadOnly(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		switch name := cmd.Name(); name {
		case "multi", "exec":
		default:
			if _, ok := readOnlyCommands[name]; !ok {
				return false
			}
		}
	}
	return true
}

// While a node's new connections pause after a refusal for max clients, a
// command whose dial the pause refused (errDialPaused, see dialGate.take)
// asks the pool again for one of its connections, after pausedRerunDelay and
// whatever its retry budget, as long as the pool has connections and its
// context allows, up to maxPausedReruns times. The delay keeps a command
// that finds no idle connection from spinning while its pool's turns are
// free (PoolSize above the goroutines that call).
const (
	maxPausedReruns  = 10000
	pausedRerunDelay = 200 * time.Microsecond
)

// rerunsPaused reports whether a command refused a dial by the pause runs
// again (after the delay): the pool has connections to serve it.
func (n *node) rerunsPaused(ctx context.Context, reruns int) bool {
	return reruns < maxPausedReruns && n.hasPooledConn() && sleep(ctx, pausedRerunDelay) == nil
}
