package main

import (
	"slices"
	"sort"

	"github.com/redisguard/redisguard/internal/pairs"
)

// comparison is one benchmark, variant B against variant A, over the pairs.
type comparison struct {
	name  string
	pairs int
	// a and b are the medians of each metric over the runs of each variant,
	// aRange and bRange their lowest and highest values.
	a, b           map[string]float64
	aRange, bRange map[string][2]float64
	// throughput is B's throughput relative to A's in each pair (A's ns/op
	// over B's), sorted; cpu is B's CPU per operation relative to A's, sorted,
	// when the benchmark reports cpu-ns/op.
	throughput, cpu []float64
}

// compare pairs the runs of each benchmark: the k-th run of A with the k-th
// run of B. In A B B A order that pairs each run with the one next to it.
func compare(results []result, a, b string) []comparison {
	byName := map[string][2][]result{}
	var names []string
	for _, r := range results {
		runs, seen := byName[r.name]
		if !seen {
			names = append(names, r.name)
		}
		if r.variant == a {
			runs[0] = append(runs[0], r)
		} else if r.variant == b {
			runs[1] = append(runs[1], r)
		}
		byName[r.name] = runs
	}
	var out []comparison
	for _, name := range names {
		runs := byName[name]
		as, bs := runs[0], runs[1]
		sort.SliceStable(as, func(i, j int) bool { return as[i].run < as[j].run })
		sort.SliceStable(bs, func(i, j int) bool { return bs[i].run < bs[j].run })
		n := min(len(as), len(bs))
		if n == 0 {
			continue
		}
		c := comparison{name: name, pairs: n}
		c.a, c.aRange = summarize(as)
		c.b, c.bRange = summarize(bs)
		for k := range n {
			if ns := bs[k].metrics["ns/op"]; ns > 0 {
				c.throughput = append(c.throughput, as[k].metrics["ns/op"]/ns)
			}
			if cpu := as[k].metrics["cpu-ns/op"]; cpu > 0 {
				c.cpu = append(c.cpu, bs[k].metrics["cpu-ns/op"]/cpu)
			}
		}
		slices.Sort(c.throughput)
		slices.Sort(c.cpu)
		out = append(out, c)
	}
	return out
}

// summarize returns the median and the range of each metric over runs.
func summarize(runs []result) (medians map[string]float64, ranges map[string][2]float64) {
	values := map[string][]float64{}
	for _, r := range runs {
		for unit, v := range r.metrics {
			values[unit] = append(values[unit], v)
		}
	}
	medians, ranges = map[string]float64{}, map[string][2]float64{}
	for unit, vs := range values {
		slices.Sort(vs)
		medians[unit] = pairs.Quantile(vs, 0.5)
		ranges[unit] = [2]float64{vs[0], vs[len(vs)-1]}
	}
	return medians, ranges
}
