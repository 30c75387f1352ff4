package metrics_test

import (
	"strings"
	"testing"

	"github.com/redisguard/redisguard/metrics"
)

const sampleInfo = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\nblocked_clients:0\r\n\r\n# Memory\r\nused_memory:966064\r\nmaxmemory:0\r\nmem_fragmentation_ratio:12.63\r\n\r\n# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=5000\r\ndb1:keys=x,expires=1\r\n"

func TestParseInfo(t *testing.T) {
	info := metrics.ParseInfo(sampleInfo)
	if v, ok := info.Get("redis_version"); !ok || v != "7.0.15" {
		t.Fatalf("redis_version: %q, %v", v, ok)
	}
	if v, ok := info.Float("mem_fragmentation_ratio"); !ok || v != 12.63 {
		t.Fatalf("mem_fragmentation_ratio: %v, %v", v, ok)
	}
	if _, ok := info.Float("redis_mode"); ok {
		t.Fatal("a word parsed as a number")
	}
	if _, ok := info.Float("absent"); ok {
		t.Fatal("an absent key parsed")
	}
	if s := info.Section("Memory"); s["used_memory"] != "966064" || len(s) != 3 {
		t.Fatalf("memory section: %v", s)
	}
	ks := info.Keyspace()
	if ks["db0"]["keys"] != 12 || ks["db0"]["expires"] != 3 || ks["db0"]["avg_ttl"] != 5000 {
		t.Fatalf("db0: %v", ks["db0"])
	}
	if _, ok := ks["db1"]["keys"]; ok || ks["db1"]["expires"] != 1 {
		t.Fatalf("db1: %v: a field that does not parse must be left out", ks["db1"])
	}
}

// FuzzParseInfo checks that any input parses without a panic, and that every
// well-formed line outside a header is found again. Its seed corpus, in
// testdata/fuzz/FuzzParseInfo, holds a full INFO reply of Redis 7.0.
func FuzzParseInfo(f *testing.F) {
	f.Add(sampleInfo)
	f.Add("")
	f.Add("#\n:\n::\nkey:\n:value\n# \r\n#Keyspace\ndb0:keys=,=,,=1\n")
	f.Fuzz(func(t *testing.T, text string) {
		info := metrics.ParseInfo(text)
		_ = info.Keyspace()
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			if strings.HasPrefix(line, "#") {
				_ = info.Section(line[1:])
				continue
			}
			key, _, ok := strings.Cut(line, ":")
			if !ok || key == "" {
				continue
			}
			if _, found := info.Get(key); !found {
				t.Fatalf("key %q of line %q not found", key, line)
			}
			_, _ = info.Float(key)
		}
	})
}
