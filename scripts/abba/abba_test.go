package main

import (
	"math"
	"strings"
	"testing"

	"github.com/redisguard/redisguard/internal/pairs"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseReadsBenchmarkLinesOnly(t *testing.T) {
	out := `goos: linux
BenchmarkGet/goroutines=1/client=plain-2   	   64252	     19975 ns/op	     11791 cpu-ns/op	     224 B/op	       7 allocs/op
BenchmarkGet/goroutines=64/client=plain-2  	   81924	     15299.5 ns/op	     224 B/op	       7 allocs/op
--- FAIL: nothing
PASS
`
	results, err := parse([]byte(out), "plain")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(results), results)
	}
	r := results[1]
	if r.name != "BenchmarkGet/goroutines=64/client={}-2" || r.variant != "plain" {
		t.Errorf("name %q, variant %q", r.name, r.variant)
	}
	if r.metrics["ns/op"] != 15299.5 || r.metrics["allocs/op"] != 7 || r.metrics["B/op"] != 224 {
		t.Errorf("metrics %v", r.metrics)
	}
}

func TestParseFailsWhenNothingRan(t *testing.T) {
	if _, err := parse([]byte("PASS\n"), "plain"); err == nil || !strings.Contains(err.Error(), "no benchmark ran") {
		t.Fatalf("got %v, want an error saying no benchmark ran", err)
	}
}

func TestCompareRatiosOfNeighbouringRuns(t *testing.T) {
	// Two rounds of A B B A; the machine slows down in the second round.
	ns := []struct {
		variant string
		ns      float64
	}{
		{"a", 100}, {"b", 125}, {"b", 125}, {"a", 100},
		{"a", 200}, {"b", 250}, {"b", 200}, {"a", 200},
	}
	var results []result
	for i, r := range ns {
		results = append(results, result{name: "BenchmarkX/{}", variant: r.variant, run: i, metrics: map[string]float64{"ns/op": r.ns}})
	}
	cmps := compare(results, "a", "b")
	if len(cmps) != 1 {
		t.Fatalf("%d comparisons, want 1", len(cmps))
	}
	c := cmps[0]
	want := []float64{0.8, 0.8, 0.8, 1}
	if c.pairs != 4 || len(c.throughput) != len(want) {
		t.Fatalf("pairs %d, ratios %v, want %v", c.pairs, c.throughput, want)
	}
	for i := range want {
		if math.Abs(c.throughput[i]-want[i]) > 1e-9 {
			t.Fatalf("ratios %v, want %v", c.throughput, want)
		}
	}
	if got := pairs.Quantile(c.throughput, 0.5); math.Abs(got-0.8) > 1e-9 {
		t.Errorf("median ratio %v, want 0.8", got)
	}
	if c.a["ns/op"] != 150 || c.aRange["ns/op"] != [2]float64{100, 200} {
		t.Errorf("A ns/op median %v range %v", c.a["ns/op"], c.aRange["ns/op"])
	}
}

func TestConfigNamesWhatIsWrong(t *testing.T) {
	ok := config{bench: "BenchmarkX/{}$", a: "plain", b: "guarded", rounds: 1, out: "x.txt"}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*config)
		want   string
	}{
		{func(c *config) { c.bench = "BenchmarkX" }, "-bench"},
		{func(c *config) { c.b = "" }, "-a and -b"},
		{func(c *config) { c.b = c.a }, "differ"},
		{func(c *config) { c.rounds = 0 }, "-rounds"},
		{func(c *config) { c.out = "" }, "-out"},
	} {
		c := ok
		tc.change(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
}
