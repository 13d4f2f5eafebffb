package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// SortFloats orders values as slices.Sort does: NaNs first, then ascending,
// −0 and +0 together, infinities at the ends, on large and small slices of
// distinct, repeated and mixed-sign values.
func TestSortFloatsMatchesSlicesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float64{math.NaN(), math.Copysign(math.NaN(), -1), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64}
	gens := map[string]func() float64{
		"spend":   func() float64 { return math.Round(math.Exp(rng.NormFloat64()*1.5 + 9)) },
		"days":    func() float64 { return -float64(rng.IntN(1100)) },
		"orders":  func() float64 { return float64(1 + rng.IntN(12)) },
		"mixed":   func() float64 { return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)) },
		"special": func() float64 { return special[rng.IntN(len(special))] },
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 5, 1023, 1024, 5000, 200_000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = gen()
				if rng.IntN(50) == 0 {
					v[i] = special[rng.IntN(len(special))]
				}
			}
			got, want := slices.Clone(v), slices.Clone(v)
			SortFloats(got)
			slices.Sort(want)
			for i := range want {
				if g, w := got[i], want[i]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("%s, %d values: at %d got %v, want %v", name, n, i, g, w)
				}
			}
		}
	}
}

func BenchmarkSortFloats(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	spend := make([]float64, 1_000_000)
	for i := range spend {
		spend[i] = math.Round(math.Exp(rng.NormFloat64()*1.5 + 9))
	}
	days := make([]float64, len(spend))
	for i := range days {
		days[i] = -float64(rng.IntN(1100))
	}
	for _, c := range []struct {
		name string
		v    []float64
		sort func([]float64)
	}{{"spend/radix", spend, SortFloats}, {"spend/slices", spend, slices.Sort[[]float64]},
		{"days/radix", days, SortFloats}, {"days/slices", days, slices.Sort[[]float64]}} {
		b.Run(c.name, func(b *testing.B) {
			v := make([]float64, len(c.v))
			for b.Loop() {
				copy(v, c.v)
				c.sort(v)
			}
		})
	}
}
