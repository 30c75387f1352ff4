package redisguard

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// commandInfo answers go-redis's own fetch of COMMAND info on a cluster.
//
// A ClusterClient learns the commands' properties (read-only, key positions,
// step counts) with a COMMAND it sends to up to three nodes drawn at random,
// under a context of its own (with no deadline, or 5 s), while holding a lock
// every other command waits for, and again on every command until one
// succeeds. On a cluster whose slot map names nodes that do not answer, every
// command then waits for that fetch, far past its own deadline. So the guard
// fetches COMMAND info itself, in the background, from a node that answers
// (one with idle connections first), at most once a second until it has it,
// and answers go-redis's fetches from its copy without a network round trip;
// until it has one, it refuses them at once, and go-redis routes by its own
// rules as when its fetch fails. The copy is fetched as soon as the first
// slot map is loaded, before the client is ready.
type commandInfo struct {
	r        *clusterNodes
	val      atomic.Pointer[map[string]*redis.CommandInfo]
	fetching atomic.Bool
	lastTry  atomic.Int64 // unix nanoseconds of the last fetch's start
}

// commandInfoRetry is the least time between two fetches of COMMAND info.
const commandInfoRetry = time.Second

// commandInfoNodes is how many nodes one fetch asks, one after another.
const commandInfoNodes = 3

// errCommandInfoPending is go-redis's fetch's answer while the guard has no
// COMMAND info yet.
var errCommandInfoPending = errors.New("redisguard: COMMAND info not fetched yet from a node that answers")

// sentCommand marks the context of a COMMAND or CLUSTER SLOTS the
// application or the guard sends, which go to the server as any command does:
// go-redis's own, unmarked, are its fetches of COMMAND info and of the slot
// map.
type sentCommand struct{}

// noRerun marks the context of go-redis's fetch of the slot map: when a node
// fails it, go-redis asks the next node at once, and the guard does not hold
// it for the node's next attempt (see afterFailure).
type noRerun struct{}

// infoFetch returns cmd as go-redis's own fetch of COMMAND info, or nil.
func infoFetch(ctx context.Context, cmd redis.Cmder) *redis.CommandsInfoCmd {
	info, ok := cmd.(*redis.CommandsInfoCmd)
	if !ok || len(info.Args()) != 1 || ctx.Value(sentCommand{}) != nil {
		return nil
	}
	return info
}

// slotsFetch marks ctx when cmd is go-redis's own fetch of the slot map on
// n, and refuses it at once when the map dropped n and n is down: go-redis
// asks every node it still has a client for (for a minute after a map drops
// it), and a dial to one of those would only fail, and take it back into
// supervision; go-redis asks the next node instead.
func (n *node) slotsFetch(ctx context.Context, cmd redis.Cmder) (context.Context, error) {
	if _, ok := cmd.(*redis.ClusterSlotsCmd); !ok || ctx.Value(sentCommand{}) != nil {
		return ctx, nil
	}
	if n.retired.Load() && n.State() != StateReady {
		err := n.refused()
		cmd.SetErr(err)
		return ctx, err
	}
	return context.WithValue(ctx, noRerun{}, true), nil
}

// markSent marks the context of the application's COMMAND and CLUSTER SLOTS
// (see sentCommand).
func markSent(ctx context.Context, cmd redis.Cmder) context.Context {
	switch cmd.(type) {
	case *redis.CommandsInfoCmd, *redis.ClusterSlotsCmd:
		return context.WithValue(ctx, sentCommand{}, true)
	}
	return ctx
}

// answer answers go-redis's fetch from the copy, or refuses it at once.
func (i *commandInfo) answer(cmd *redis.CommandsInfoCmd) error {
	if v := i.val.Load(); v != nil {
		cmd.SetVal(*v)
		return nil
	}
	i.fetch()
	cmd.SetErr(errCommandInfoPending)
	return errCommandInfoPending
}

// fetch starts a fetch in the background unless one is at work, the copy is
// there, or the last began less than commandInfoRetry ago.
func (i *commandInfo) fetch() {
	if i.val.Load() != nil || time.Now().UnixNano()-i.lastTry.Load() < int64(commandInfoRetry) {
		return
	}
	if !i.fetching.CompareAndSwap(false, true) {
		return
	}
	i.lastTry.Store(time.Now().UnixNano())
	if !i.r.c.goBackground(i.load) {
		i.fetching.Store(false)
	}
}

// load asks the ready nodes, those with idle connections first, within the
// connect timeout.
func (i *commandInfo) load() {
	defer i.fetching.Store(false)
	c := i.r.c
	ctx, cancel := context.WithTimeout(context.WithValue(c.ctx, sentCommand{}, true), c.cfg.connectTimeout)
	defer cancel()
	var idle, other []*redis.Client
	for _, n := range i.r.list() {
		rdb := n.client.Load()
		switch {
		case rdb == nil || n.State() != StateReady || n.retired.Load():
		case rdb.PoolStats().IdleConns > 0:
			idle = append(idle, rdb)
		default:
			other = append(other, rdb)
		}
	}
	rand.Shuffle(len(other), func(a, b int) { other[a], other[b] = other[b], other[a] })
	for _, rdb := range append(idle, other...)[:min(len(idle)+len(other), commandInfoNodes)] {
		if v, err := rdb.Command(ctx).Result(); err == nil {
			i.val.Store(&v)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}
