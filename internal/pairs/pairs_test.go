package pairs

import "testing"

func TestQuantileInterpolates(t *testing.T) {
	for _, tc := range []struct {
		values []float64
		q      float64
		want   float64
	}{
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3}, 0.5, 2},
		{[]float64{1, 2, 3, 4, 5}, 0.25, 2},
		{[]float64{7}, 0.75, 7},
		{nil, 0.5, 0},
	} {
		if got := Quantile(tc.values, tc.q); got != tc.want {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.values, tc.q, got, tc.want)
		}
	}
}

func TestMedianCIHasTheRanksOfTheBinomialBound(t *testing.T) {
	values := make([]float64, 100)
	for i := range values {
		values[i] = float64(i + 1) // the value is its rank
	}
	// n = 100: ranks 50 − 9.8 → 40 and 1 + 50 + 9.8 → 61.
	if lo, hi := MedianCI(values); lo != 40 || hi != 61 {
		t.Fatalf("CI %v–%v, want ranks 40–61", lo, hi)
	}
	if lo, hi := MedianCI(values[:4]); lo != 1 || hi != 4 {
		t.Fatalf("CI of 4 values %v–%v, want the whole range", lo, hi)
	}
	if lo, hi := MedianCI(nil); lo != 0 || hi != 0 {
		t.Fatalf("CI of nothing %v–%v", lo, hi)
	}
}
