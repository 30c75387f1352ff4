package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// result is one benchmark line of one run.
type result struct {
	name    string // the benchmark's name with the variant replaced by {}
	variant string
	run     int                // position of the run in the whole sequence
	metrics map[string]float64 // by unit: "ns/op", "B/op", "allocs/op", custom ones
}

// parse reads the benchmark lines a test binary printed for variant. A line
// reads "BenchmarkName-2   N   v1 unit1   v2 unit2 ...". A run that printed no
// benchmark line at all is an error: the pattern matched nothing.
func parse(out []byte, variant string) ([]result, error) {
	var results []result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		r := result{name: withoutVariant(fields[0], variant), variant: variant, metrics: map[string]float64{}}
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: metric %q: %w", fields[0], fields[i+1], err)
			}
			r.metrics[fields[i+1]] = v
		}
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark ran:\n%s", out)
	}
	return results, nil
}

// withoutVariant replaces the last occurrence of the variant in a benchmark's
// name with {}, so that the two variants of one benchmark share a name.
func withoutVariant(name, variant string) string {
	i := strings.LastIndex(name, variant)
	if i < 0 {
		return name
	}
	return name[:i] + "{}" + name[i+len(variant):]
}
