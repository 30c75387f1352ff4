package health

import (
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redact"
)

// redactorOf returns what hides rdb's credentials in a text: a server may
// quote them back in an error reply (a proxy refusing "AUTH user password"),
// which an answer quotes.
func redactorOf(rdb redis.UniversalClient) (hide func(string) string) {
	defer func() {
		if recover() != nil { // a broken client (a zero redis.Client): its checks fail anyway
			hide = func(s string) string { return s }
		}
	}()
	switch c := rdb.(type) {
	case *redisguard.Client:
		return c.Redact
	case *redis.Client:
		return redactorFor(c.Options().Username, c.Options().Password)
	case *redis.ClusterClient:
		return redactorFor(c.Options().Username, c.Options().Password)
	}
	return func(s string) string { return s }
}

// redactorFor hides a username and password pair, as a redisguard.Client
// hides its own.
func redactorFor(username, password string) func(string) string {
	secrets := redact.Credentials(username, password)
	return func(s string) string { return redact.Text(s, secrets...) }
}

// redact applies hide to every text of v.
func (v verdict) redact(hide func(string) string) verdict {
	v.output = hide(v.output)
	for _, o := range []*observation{v.probe, v.state, v.breaker} {
		if o != nil {
			o.output = hide(o.output)
		}
	}
	nodes := make([]nodeVerdict, len(v.nodes))
	for i, n := range v.nodes {
		n.summary = hide(n.summary)
		for _, o := range []**observation{&n.probe, &n.state, &n.breaker} {
			if *o != nil {
				copied := **o
				copied.output = hide(copied.output)
				*o = &copied
			}
		}
		nodes[i] = n
	}
	if v.nodes != nil {
		v.nodes = nodes
	}
	return v
}
