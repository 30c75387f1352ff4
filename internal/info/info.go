// Package info parses the text of a Redis INFO reply. It is the one parser
// of the metrics collector, the Monitor and the doctor.
package info

import (
	"maps"
	"strconv"
	"strings"
)

// Info is the parsed text of an INFO reply.
type Info struct {
	fields   map[string]string            // every key:value line
	sections map[string]map[string]string // lower-case section name → its fields
}

// Parse parses the text of an INFO reply: "# Section" headers and
// "key:value" lines. It accepts any input: lines it cannot read are skipped.
func Parse(text string) Info {
	info := Info{fields: map[string]string{}, sections: map[string]map[string]string{}}
	section := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if name, ok := strings.CutPrefix(line, "#"); ok {
			section = strings.ToLower(strings.TrimSpace(name))
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" {
			continue
		}
		info.fields[key] = value
		if info.sections[section] == nil {
			info.sections[section] = map[string]string{}
		}
		info.sections[section][key] = value
	}
	return info
}

// Fields returns every key:value field, whatever its section. The map is
// the Info's own: the caller must not change it.
func (i Info) Fields() map[string]string { return i.fields }

// Get returns the value of key, from whichever section holds it.
func (i Info) Get(key string) (string, bool) {
	v, ok := i.fields[key]
	return v, ok
}

// Float returns the value of key as a number; ok is false when the key is
// missing or not a number.
func (i Info) Float(key string) (v float64, ok bool) {
	s, ok := i.fields[key]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// Section returns a copy of the fields of a section ("memory", "clients", …).
func (i Info) Section(name string) map[string]string {
	return maps.Clone(i.sections[strings.ToLower(name)])
}

// Keyspace returns the keyspace section's databases ("db0", …) with their
// numbers: keys, expires, avg_ttl. Entries that do not parse are left out.
func (i Info) Keyspace() map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for db, value := range i.sections["keyspace"] {
		stats := map[string]int64{}
		for part := range strings.SplitSeq(value, ",") {
			k, v, ok := strings.Cut(part, "=")
			if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
				stats[k] = n
			}
		}
		out[db] = stats
	}
	return out
}
