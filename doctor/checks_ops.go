package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// clientsHigh is the share of maxclients above which maxclients warns:
	// the Monitor's alert threshold.
	clientsHigh = 0.9
	// idleTimeoutShort is an idle timeout below which pools keep
	// reconnecting.
	idleTimeoutShort = 10 * time.Second
	// slowThreshold is the slow-log threshold the checklist asks for.
	slowThreshold = 10 * time.Millisecond
	// slowCommand is how long a logged command must have held the server
	// for slowlog to warn, and latencyHigh how high a latency event.
	slowCommand = 100 * time.Millisecond
	latencyHigh = 100 * time.Millisecond
)

// checkMaxclients warns when the connections come near maxclients or some
// were refused for lack of room.
func checkMaxclients(f *facts) Check {
	maxclients, ok := f.settingNumber("maxclients", "maxclients")
	if !ok {
		return skip(IDMaxclients, f.whyNeither())
	}
	connected, ok := f.number("connected_clients")
	if !ok {
		return pass(IDMaxclients, fmt.Sprintf("maxclients %.0f; connections unknown (%s)", maxclients, f.whyNoInfo()))
	}
	detail := fmt.Sprintf("%.0f of %.0f connections (%s)", connected, maxclients, percent(connected/maxclients))
	if connected/maxclients > clientsHigh {
		return warn(IDMaxclients, detail, "raise maxclients (and the process's file limit), or find the client that leaks connections (CLIENT LIST)")
	}
	if rejected, ok := f.number("rejected_connections"); ok && rejected > 0 {
		return warn(IDMaxclients, fmt.Sprintf("%s; %.0f refused since start for lack of room", detail, rejected), "raise maxclients, or bound the services' pools (PoolSize)")
	}
	return pass(IDMaxclients, detail)
}

// checkTimeout judges how the server rids itself of idle and dead
// connections.
func checkTimeout(f *facts) Check {
	timeout, ok := f.settingNumber("timeout", "")
	if !ok {
		return skip(IDTimeout, f.whyNoConfig())
	}
	keepalive, hasKeepalive := f.settingNumber("tcp-keepalive", "")
	idle := time.Duration(timeout) * time.Second
	switch {
	case timeout == 0 && hasKeepalive && keepalive == 0:
		return warn(IDTimeout, "idle connections are never closed (timeout 0) and dead peers never noticed (tcp-keepalive 0): a crashed client's connections count against maxclients for good",
			"tcp-keepalive 300")
	case timeout == 0 && hasKeepalive:
		return pass(IDTimeout, fmt.Sprintf("idle connections are kept (timeout 0); tcp-keepalive %.0f s finds dead peers", keepalive))
	case timeout == 0:
		return pass(IDTimeout, "idle connections are kept (timeout 0)")
	case idle < idleTimeoutShort:
		return warn(IDTimeout, fmt.Sprintf("idle connections are closed after %v: pools keep reconnecting", idle), "timeout 0 with tcp-keepalive 300, or timeout 300")
	}
	return pass(IDTimeout, fmt.Sprintf("idle connections are closed after %v", idle))
}

// checkSlowlog warns when the slow log misses what the checklist wants
// logged, and reports the slowest entry.
func checkSlowlog(f *facts) Check {
	threshold, hasThreshold := f.settingNumber("slowlog-log-slower-than", "")
	maxLen, hasMaxLen := f.settingNumber("slowlog-max-len", "")
	switch {
	case !hasThreshold && f.slowlogErr != nil:
		return skip(IDSlowlog, f.whyNoConfig()+"; "+reason("SLOWLOG", f.slowlogErr))
	case !hasThreshold && len(f.slowlog) == 0:
		return skip(IDSlowlog, "no entry, and whether commands are logged is unknown ("+f.whyNoConfig()+")")
	}
	var (
		parts  []string
		advice []string
		status = Pass
	)
	worse := func(s Status) {
		if s == Warn && status == Pass {
			status = Warn
		}
	}
	after := time.Duration(threshold) * time.Microsecond
	switch {
	case !hasThreshold:
		parts = append(parts, "threshold unknown ("+f.whyNoConfig()+")")
	case threshold < 0:
		parts = append(parts, "the slow log is off")
		advice = append(advice, "slowlog-log-slower-than 10000 (10 ms)")
		worse(Warn)
	case threshold == 0:
		parts = append(parts, "every command is logged (slowlog-log-slower-than 0)")
	case after > slowThreshold:
		parts = append(parts, fmt.Sprintf("only commands slower than %v are logged", after))
		advice = append(advice, "slowlog-log-slower-than 10000 (10 ms)")
		worse(Warn)
	default:
		parts = append(parts, fmt.Sprintf("commands slower than %v are logged", after))
	}
	if hasMaxLen && maxLen == 0 {
		parts = append(parts, "but none is kept (slowlog-max-len 0)")
		advice = append(advice, "slowlog-max-len 128")
		worse(Warn)
	}
	switch {
	case f.slowlogErr != nil:
		parts = append(parts, "entries unknown ("+reason("SLOWLOG", f.slowlogErr)+")")
	case len(f.slowlog) == 0:
		parts = append(parts, "no entry")
	default:
		slowest := slices.MaxFunc(f.slowlog, func(a, b redis.SlowLog) int { return int(a.Duration - b.Duration) })
		parts = append(parts, fmt.Sprintf("%d entries, the slowest %s", len(f.slowlog), describeSlow(slowest)))
		if slowest.Duration >= slowCommand {
			advice = append(advice, "find who sends it (SLOWLOG GET shows the client), and replace whole-keyspace or whole-value commands (KEYS, HGETALL of large hashes) with SCAN-style ones")
			worse(Warn)
		}
	}
	return Check{ID: IDSlowlog, Status: status, Detail: strings.Join(parts, "; "), Advice: strings.Join(advice, "; ")}
}

// describeSlow names a slow-log entry by its command alone: arguments may
// hold keys and values that are nobody's business.
func describeSlow(e redis.SlowLog) string {
	name := "?"
	if len(e.Args) > 0 {
		name = strings.ToUpper(e.Args[0])
	}
	s := fmt.Sprintf("%s %v", name, roundDuration(e.Duration))
	// The age is on this machine's clock against the server's: shown only
	// when the two agree well enough to make it positive.
	if age := time.Since(e.Time).Round(time.Second); !e.Time.IsZero() && age >= 0 {
		s += fmt.Sprintf(", %v ago", age)
	}
	return s
}

// checkLatency reports the latency monitor's worst event, and the audit's
// own PING round trip.
func checkLatency(f *facts) Check {
	ping := fmt.Sprintf("PING took %v", roundDuration(f.ping))
	threshold, hasThreshold := f.settingNumber("latency-monitor-threshold", "")
	if f.latencyErr != nil || (len(f.latency) == 0 && !hasThreshold) {
		why := f.whyNoConfig()
		if f.latencyErr != nil {
			why = reason("LATENCY", f.latencyErr)
		}
		return skip(IDLatency, fmt.Sprintf("latency monitor unknown (%s); %s", why, ping))
	}
	if len(f.latency) == 0 && threshold == 0 {
		c := skip(IDLatency, "latency monitor off (latency-monitor-threshold 0); "+ping)
		c.Advice = "latency-monitor-threshold 100 records what stalls the server for 100 ms or more; LATENCY DOCTOR explains it"
		return c
	}
	if len(f.latency) == 0 {
		return pass(IDLatency, fmt.Sprintf("no event above %.0f ms recorded; %s", threshold, ping))
	}
	worst := slices.MaxFunc(f.latency, func(a, b latencyEvent) int { return int(a.max - b.max) })
	detail := fmt.Sprintf("%d event kind(s), the worst %s at %v (latest %v); %s", len(f.latency), worst.name, worst.max, worst.latest, ping)
	if worst.max >= latencyHigh {
		return warn(IDLatency, detail, "LATENCY DOCTOR explains the events; fork events point at large snapshots, command events at slow commands (see slowlog)")
	}
	return pass(IDLatency, detail)
}

// supportedLines are the release lines that get security fixes: for Redis,
// the Supported Versions table of its SECURITY.md (6.2, and 7.2 onwards);
// for Valkey, every line since its first, 7.2. A line newer than the table
// counts as supported.
var supportedLines = map[string]func(major, minor int) bool{
	"redis": func(major, minor int) bool {
		return (major == 6 && minor == 2) || major > 7 || (major == 7 && minor >= 2)
	},
	"valkey": func(major, minor int) bool {
		return major > 7 || (major == 7 && minor >= 2)
	},
}

// checkVersion warns about a release line past its end of life.
func checkVersion(f *facts) Check {
	product, version, ok := f.version()
	if !ok {
		return skip(IDVersion, f.whyNoInfo())
	}
	name := productName(product) + " " + version
	supported, known := supportedLines[strings.ToLower(product)]
	major, minor, parsed := majorMinor(version)
	if !known || !parsed {
		return pass(IDVersion, name)
	}
	if !supported(major, minor) {
		return warn(IDVersion, fmt.Sprintf("%s: the %d.%d line is past its end of life and gets no security fix", name, major, minor),
			"upgrade to a supported release line (7.2 or later)")
	}
	return pass(IDVersion, name)
}

func productName(product string) string {
	switch strings.ToLower(product) {
	case "redis":
		return "Redis"
	case "valkey":
		return "Valkey"
	}
	return product
}

// majorMinor parses the first two numbers of a version such as "7.0.15".
func majorMinor(version string) (major, minor int, ok bool) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}
