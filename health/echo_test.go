package health_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/health"
	"github.com/redisguard/redisguard/internal/redistest"
)

// echoingServer accepts every connection's handshake and answers every other
// command with reply, as a proxy in front of a refusing backend may: quoting
// what the client sent.
func echoingServer(t *testing.T, reply string) string {
	t.Helper()
	return redistest.StartFakeServer(t, func(_ int, cmd []string, w *bufio.Writer) bool {
		switch cmd[0] {
		case "HELLO":
			w.WriteString(redistest.HelloReply)
		case "CLIENT", "AUTH", "SELECT":
			w.WriteString("+OK\r\n")
		default:
			w.WriteString(reply)
		}
		return true
	}).Addr()
}

// The credentials of quotingClients, the replies of a server that quotes them
// back (plainly, and escaped as a proxy may), and what no answer may hold.
const quotingUser, quotingPassword = "app-user", `s3"cr\et-42`

var (
	quotingReplies = []string{
		"-ERR upstream refused AUTH " + quotingUser + " " + quotingPassword + "\r\n",
		`-ERR upstream refused AUTH "app-user" "s3\"cr\\et-42"` + "\r\n",
	}
	quotedSecrets = []string{quotingPassword, quotingUser, `s3\"cr`, `cr\\et`}
)

// quotingClients returns a plain and a guarded client, both with the
// credentials, of an echoingServer that answers with reply.
func quotingClients(t *testing.T, reply string) (plain, guarded redis.UniversalClient) {
	t.Helper()
	addr := echoingServer(t, reply)
	plain = redis.NewClient(&redis.Options{Addr: addr, Username: quotingUser, Password: quotingPassword, MaxRetries: -1})
	t.Cleanup(func() { plain.Close() })
	g, err := redisguard.New(redisguard.Options{Redis: &redis.UniversalOptions{Addrs: []string{addr}, Username: quotingUser, Password: quotingPassword}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return plain, g
}

// A server that quotes the client's credentials back, plainly or escaped:
// no answer holds them.
func TestAnswersHideCredentialsTheServerQuotes(t *testing.T) {
	t.Parallel()
	for _, reply := range quotingReplies {
		plain, guarded := quotingClients(t, reply)
		for name, h := range map[string]http.Handler{
			"Handler, go-redis":     health.Handler(plain),
			"Readiness, go-redis":   health.Readiness(plain),
			"Handler, redisguard":   health.Handler(guarded),
			"Readiness, redisguard": health.Readiness(guarded),
		} {
			for _, accept := range []string{"", "application/health+json"} {
				// The guarded client's supervisor fails its first attempt
				// on the reply, which its answers then quote.
				a := request(h, http.MethodGet, accept)
				for deadline := time.Now().Add(5 * time.Second); !strings.Contains(string(a.body), "upstream refused") && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
					a = request(h, http.MethodGet, accept)
				}
				if a.code != http.StatusServiceUnavailable || !strings.Contains(string(a.body), "upstream refused") {
					t.Fatalf("%s: %d %s, want a 503 quoting the server", name, a.code, a.body)
				}
				for _, secret := range quotedSecrets {
					if strings.Contains(string(a.body), secret) {
						t.Fatalf("%s: %s holds %q", name, a.body, secret)
					}
				}
			}
		}
	}
}

// Check's result hides the credentials a server quotes back in its Message,
// its nodes' and the text of its errors, for a plain and a guarded client.
func TestCheckHidesCredentialsTheServerQuotes(t *testing.T) {
	t.Parallel()
	for _, reply := range quotingReplies {
		plain, guarded := quotingClients(t, reply)
		for name, rdb := range map[string]redis.UniversalClient{"go-redis": plain, "redisguard": guarded} {
			res := health.Check(context.Background(), rdb)
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(res.Message(), "upstream refused") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				res = health.Check(context.Background(), rdb)
			}
			if !strings.Contains(res.Message(), "upstream refused") {
				t.Fatalf("%s: Message %q, want it quoting the server", name, res.Message())
			}
			texts := []string{res.Message(), res.Err.Error(), fmt.Sprint(res.Err), fmt.Sprintf("%+v", res)}
			for _, n := range res.Nodes {
				texts = append(texts, n.Message(), fmt.Sprint(n.Err))
			}
			for _, text := range texts {
				for _, secret := range quotedSecrets {
					if strings.Contains(text, secret) {
						t.Fatalf("%s: %q holds %q", name, text, secret)
					}
				}
			}
			var reply redis.Error
			if !errors.As(res.Err, &reply) && name == "go-redis" {
				t.Fatalf("%s: Err %v no longer wraps the server's reply", name, res.Err)
			}
		}
	}
}
