package health

import (
	"net/http"
	"time"

	"github.com/redisguard/redisguard"
)

// Liveness answers /health/live, for Kubernetes' livenessProbe. It sends no
// PING: it fails (503) only when the client has given up, that is when its
// state is closed, because the reconnect strategy ran out of retries or Close
// was called. While the client is connecting or reconnecting it answers 200
// with a warning, because the client will recover by itself once Redis is
// back; restarting the pod would not bring Redis back, and during an outage
// of Redis it would restart every pod of the service at once.
//
// Bodies follow Handler's, without latency and breaker:
//
//	{"status":"healthy","state":"reconnecting","warning":"client not ready (reconnecting): connection refused"}
//	{"status":"unhealthy","state":"closed","error":"client closed: reconnect retries exhausted"}
//
// A nil c cannot be checked: every request is answered 500 with "no Redis
// client: Liveness got a nil *redisguard.Client". NewLiveness reports it as an
// error instead.
func Liveness(c *redisguard.Client) http.Handler {
	return orBroken(newLiveness("Liveness", c))
}

// NewLiveness is Liveness, returning an error wrapping ErrNoClient for a nil
// c instead of a handler that answers 500.
func NewLiveness(c *redisguard.Client) (http.Handler, error) {
	return newLiveness("NewLiveness", c)
}

func newLiveness(fn string, c *redisguard.Client) (http.Handler, error) {
	if c == nil {
		return nil, noClient(fn, c)
	}
	return endpoint(func(r *http.Request) verdict {
		st := c.State()
		var why error
		switch st {
		case redisguard.StateReady:
		case redisguard.StateClosed:
			why = closedReason(r.Context(), c)
		default:
			why = &notReadyError{state: st, cause: c.LastError()}
		}
		return livenessVerdict(st, why, time.Now())
	}), nil
}
