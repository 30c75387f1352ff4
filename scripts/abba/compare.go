package main

import (
	"math"
	"slices"
	"sort"
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
		medians[unit] = quantile(vs, 0.5)
		ranges[unit] = [2]float64{vs[0], vs[len(vs)-1]}
	}
	return medians, ranges
}

// quantile returns the q-quantile of sorted values, interpolating linearly
// between the two nearest (the median of an even count is the mean of the two
// middle values).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// medianCI returns a 95 % confidence interval of the median of the
// population sorted is drawn from, free of any assumption on its
// distribution: the order statistics of ranks n/2 − 0.98√n and
// 1 + n/2 + 0.98√n (1-based, clamped to the sample), whose coverage the
// binomial distribution of the count below the median gives. For 10 values
// or fewer it is the whole range, which covers the median with probability
// 1 − 2^(1−n): less than 95 % below 6 values.
func medianCI(sorted []float64) (lo, hi float64) {
	n := len(sorted)
	if n == 0 {
		return 0, 0
	}
	half := 0.98 * math.Sqrt(float64(n))
	j := max(1, int(math.Floor(float64(n)/2-half)))
	k := min(n, int(math.Ceil(1+float64(n)/2+half)))
	return sorted[j-1], sorted[k-1]
}
