package cache

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// tombstone is the value stored for a cached not-found. It starts with a NUL
// byte, which no JSON document does.
const tombstone = "\x00redisguard:not-found"

// A value stored with early refresh on starts with a header: the magic, the
// time it expires (Unix milliseconds) and how long its load took
// (milliseconds), both big-endian. A value without it (stored with early
// refresh off, or by another program) is read as it is.
const (
	headerMagic = "\x00rg\x01"
	headerLen   = len(headerMagic) + 8 + 4
)

// meta is what the header says about a value; the zero meta means none.
type meta struct {
	expiresMs int64  // Unix milliseconds
	deltaMs   uint32 // how long the load took
}

// withHeader returns payload behind a header.
func withHeader(payload []byte, expires time.Time, delta time.Duration) []byte {
	out := make([]byte, headerLen, headerLen+len(payload))
	copy(out, headerMagic)
	binary.BigEndian.PutUint64(out[len(headerMagic):], uint64(expires.UnixMilli()))
	ms := max(1, min(delta.Milliseconds(), math.MaxUint32))
	binary.BigEndian.PutUint32(out[len(headerMagic)+8:], uint32(ms))
	return append(out, payload...)
}

// splitHeader returns the payload of a stored value and its header's meta.
func splitHeader(s string) (string, meta) {
	if len(s) < headerLen || !strings.HasPrefix(s, headerMagic) {
		return s, meta{}
	}
	h := s[len(headerMagic):headerLen]
	return s[headerLen:], meta{
		expiresMs: int64(beUint64(h)),
		deltaMs:   beUint32(h[8:]),
	}
}

func beUint64(s string) uint64 {
	_ = s[7]
	return uint64(s[7]) | uint64(s[6])<<8 | uint64(s[5])<<16 | uint64(s[4])<<24 |
		uint64(s[3])<<32 | uint64(s[2])<<40 | uint64(s[1])<<48 | uint64(s[0])<<56
}

func beUint32(s string) uint32 {
	_ = s[3]
	return uint32(s[3]) | uint32(s[2])<<8 | uint32(s[1])<<16 | uint32(s[0])<<24
}

// refreshDue is XFetch (Vattani, Chierichetti, Lowenstein, "Optimal
// Probabilistic Cache Stampede Prevention", VLDB 2015): refresh when
// now − δ·β·ln(rand) ≥ expiry, so that the probability rises as the expiry
// nears and one of many readers refreshes shortly before it, the more
// readers the earlier.
func refreshDue(m meta, now time.Time, beta float64) bool {
	if m.expiresMs == 0 {
		return false
	}
	remaining := float64(m.expiresMs - now.UnixMilli())
	scale := float64(m.deltaMs) * beta
	// -ln(rand) exceeds 40 with probability e^-40: skip the logarithm for
	// values far from their expiry, which is nearly every hit.
	if remaining > 40*scale {
		return false
	}
	return -scale*math.Log(1-rand.Float64()) >= remaining
}
