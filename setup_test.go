package redisguard

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The commands go-redis sends to set a connection up, built as it builds
// them: the guard knows each for one, and none has a string reply, which
// lets the guard's hooks skip the check for GET and the other commands that
// have one (isSetup).
func TestSetupCommandsHaveNoStringReply(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed: the pipeline is not run
	defer rdb.Close()
	p := rdb.Pipeline()
	ver := "1.0"
	setup := []redis.Cmder{
		p.Hello(ctx, 3, "user", "secret", "name"),
		p.Auth(ctx, "secret"),
		p.AuthACL(ctx, "user", "secret"),
		p.Select(ctx, 1),
		p.ReadOnly(ctx),
		p.ClientSetName(ctx, "name"),
		p.ClientSetInfo(ctx, redis.WithLibraryName("lib")),
		p.ClientSetInfo(ctx, redis.WithLibraryVersion(ver)),
		p.ClientTrackingOn(ctx, nil),
		p.ClientMaintNotifications(ctx, true, ""),
	}
	for _, cmd := range setup {
		name := fmt.Sprint(cmd.Args())
		if !IsConnectionSetup(cmd) {
			t.Errorf("%s: not taken for connection set-up", name)
		}
		if _, ok := cmd.(*redis.StringCmd); ok {
			t.Errorf("%s: a *redis.StringCmd; isSetup would let it pass as an ordinary command", name)
		}
	}
	for _, cmd := range []redis.Cmder{p.Get(ctx, "k"), p.Do(ctx, "HELLO", 3), p.ClientList(ctx)} {
		if isSetup(cmd) {
			t.Errorf("%v taken for connection set-up", cmd.Args())
		}
	}
}
