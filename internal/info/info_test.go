package info

import (
	"maps"
	"strings"
	"testing"
)

const sampleInfo = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\nblocked_clients:0\r\n\r\n# Memory\r\nused_memory:966064\r\nmaxmemory:0\r\nmem_fragmentation_ratio:12.63\r\n\r\n# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=5000\r\ndb1:keys=x,expires=1\r\n"

func TestParse(t *testing.T) {
	info := Parse(sampleInfo)
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

// FuzzParse checks that any input parses without a panic, and that every
// well-formed line outside a header is found again. Its seed corpus, in
// testdata/fuzz/FuzzParse, holds a full INFO reply of Redis 7.0.
func FuzzParse(f *testing.F) {
	f.Add(sampleInfo)
	f.Add("")
	f.Add("#\n:\n::\nkey:\n:value\n# \r\n#Keyspace\ndb0:keys=,=,,=1\n")
	f.Fuzz(func(t *testing.T, text string) {
		info := Parse(text)
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

// TestFields: the doctor reads the fields of every section as one map; lines
// without a key, and header lines, are not fields.
func TestFields(t *testing.T) {
	got := Parse("# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\nbad line\r\n:novalue\r\n").Fields()
	want := map[string]string{"redis_version": "7.0.15", "executable": "/usr/bin/redis-server", "db0": "keys=1,expires=0"}
	if !maps.Equal(got, want) {
		t.Errorf("parsed %v, want %v", got, want)
	}
}
