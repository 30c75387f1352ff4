package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/redisguard/redisguard/internal/pairs"
)

// report writes the comparisons as a Markdown table. Throughput is B's
// relative to A's, median of the pairs, with the interquartile range and the
// extremes of the pairs' ratios, and the 95 % confidence interval of that
// median (see pairs.MedianCI); CPU is B's CPU time per operation relative
// to A's, median of the pairs.
func report(w io.Writer, cfg config, cmps []comparison) error {
	p := &printer{w: w}
	p.printf("A = %s, B = %s; ns/op: median (lowest–highest) of the runs\n\n", cfg.a, cfg.b)
	p.printf("| benchmark | pairs | A ns/op | B ns/op | B/A throughput, median [IQR] (min–max) | 95 %% CI of the median | B/A cpu-ns/op | allocs/op A → B | B/op A → B |\n")
	p.printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cmps {
		cpu := "—"
		if len(c.cpu) > 0 {
			cpu = fmt.Sprintf("%.3f", pairs.Quantile(c.cpu, 0.5))
		}
		lo, hi := pairs.MedianCI(c.throughput)
		p.printf("| %s | %d | %s | %s | %.3f [%.3f–%.3f] (%.3f–%.3f) | %.3f–%.3f | %s | %s → %s | %s → %s |\n",
			strings.ReplaceAll(c.name, "|", `\|`), c.pairs,
			withRange(c.a["ns/op"], c.aRange["ns/op"]), withRange(c.b["ns/op"], c.bRange["ns/op"]),
			pairs.Quantile(c.throughput, 0.5), pairs.Quantile(c.throughput, 0.25), pairs.Quantile(c.throughput, 0.75),
			first(c.throughput), last(c.throughput),
			lo, hi,
			cpu,
			number(c.a["allocs/op"]), number(c.b["allocs/op"]),
			number(c.a["B/op"]), number(c.b["B/op"]))
	}
	extra := customUnits(cmps)
	if len(extra) > 0 {
		p.printf("\nOther metrics, median of the runs (A → B):\n\n")
		for _, c := range cmps {
			for _, unit := range extra {
				if _, ok := c.a[unit]; ok {
					p.printf("- %s %s: %s → %s\n", c.name, unit, number(c.a[unit]), number(c.b[unit]))
				}
			}
		}
	}
	return p.err
}

// customUnits lists the metrics beyond the ones of the table, sorted.
func customUnits(cmps []comparison) []string {
	seen := map[string]bool{"ns/op": true, "cpu-ns/op": true, "allocs/op": true, "B/op": true}
	var units []string
	for _, c := range cmps {
		for unit := range c.a {
			if !seen[unit] {
				seen[unit] = true
				units = append(units, unit)
			}
		}
	}
	slices.Sort(units)
	return units
}

func withRange(median float64, r [2]float64) string {
	return fmt.Sprintf("%s (%s–%s)", number(median), number(r[0]), number(r[1]))
}

// number prints v with three significant digits, as benchstat does, and
// integers as they are.
func number(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func first(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[0]
}

func last(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
}

// printer remembers the first write error, so that report checks once.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
