package redisguard

import "strings"

// oneSource refuses Options that describe the connection more than once,
// naming the fields actually set.
func (o *Options) oneSource() error {
	var set []string
	for _, f := range []struct {
		field string
		set   bool
	}{{"URL", o.URL != ""}, {"Redis", o.Redis != nil}, {"Cluster", o.Cluster != nil}} {
		if f.set {
			set = append(set, f.field)
		}
	}
	if len(set) < 2 {
		return nil
	}
	return optionErrorf(set[0], "is set together with %s: set only one of URL, Redis and Cluster", strings.Join(set[1:], " and "))
}
