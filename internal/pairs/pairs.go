// Package pairs summarizes paired measurements, such as the ratios of two
// variants' throughput run side by side: their quantiles, and a confidence
// interval of their median that assumes nothing of their distribution.
package pairs

import "math"

// Quantile returns the q-quantile of sorted values, interpolating linearly
// between the two nearest (the median of an even count is the mean of the two
// middle values).
func Quantile(sorted []float64, q float64) float64 {
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

// MedianCI returns a 95 % confidence interval of the median of the
// population sorted is drawn from, free of any assumption on its
// distribution: the order statistics of ranks n/2 − 0.98√n and
// 1 + n/2 + 0.98√n (1-based, clamped to the sample), whose coverage the
// binomial distribution of the count below the median gives. For 10 values
// or fewer it is the whole range, which covers the median with probability
// 1 − 2^(1−n): less than 95 % below 6 values.
func MedianCI(sorted []float64) (lo, hi float64) {
	n := len(sorted)
	if n == 0 {
		return 0, 0
	}
	half := 0.98 * math.Sqrt(float64(n))
	j := max(1, int(math.Floor(float64(n)/2-half)))
	k := min(n, int(math.Ceil(1+float64(n)/2+half)))
	return sorted[j-1], sorted[k-1]
}
