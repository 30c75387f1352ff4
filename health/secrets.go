package health

import (
	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/internal/redact"
	"github.com/redisguard/redisguard/internal/typednil"
)

// redactorOf returns what hides rdb's credentials in a text: a server may
// quote them back in an error reply (a proxy refusing "AUTH user password"),
// which an answer quotes.
func redactorOf(rdb redis.UniversalClient) (hide func(string) string) {
	if typednil.Is(rdb) {
		return func(s string) string { return s }
	}
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

// redactor hides a client's credentials in the texts of a Result: its
// Message and its Err's text. A pointer to it keeps NodeResult comparable.
type redactor struct{ hide func(string) string }

// text returns s cleaned, or s itself for a Result built without a client.
func (r *redactor) text(s string) string {
	if r == nil {
		return s
	}
	return r.hide(s)
}

// err returns err, or an error whose text is cleaned and which wraps err
// (for errors.Is and errors.As) when err's text holds a credential.
func (r *redactor) err(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); r.text(msg) != msg {
		return &redactedError{msg: r.text(msg), err: err}
	}
	return err
}

// redactedError is an error whose text held a credential.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redacted returns res with the credentials of the client it checked hidden
// in every error text and message it holds: a server may quote them back.
func (res Result) redacted(hide func(string) string) Result {
	r := &redactor{hide: hide}
	res.redact, res.Err = r, r.err(res.Err)
	if res.Nodes != nil {
		nodes := make([]NodeResult, len(res.Nodes))
		for i, n := range res.Nodes {
			n.redact, n.Err = r, r.err(n.Err)
			nodes[i] = n
		}
		res.Nodes = nodes
	}
	return res
}
