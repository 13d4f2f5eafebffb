package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// lowerBound on order keys agrees with slices.BinarySearch on the floats,
// negative, zero and positive.
func TestLowerBoundMatchesBinarySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		th := make([]float64, n)
		for i := range th {
			th[i] = float64(rng.IntN(50))
		}
		slices.Sort(th)
		th = slices.Compact(th)
		keys := make([]uint64, len(th))
		for i, v := range th {
			keys[i] = sortKey(v - 25)
		}
		for v := -1.0; v < 52; v += 0.5 {
			want, _ := slices.BinarySearch(th, v)
			if got := lowerBound(keys, sortKey(v-25)); got != want {
				t.Fatalf("lowerBound(%v, %v) = %d, want %d", th, v, got, want)
			}
		}
	}
}

// Packed quantized gradients: sums of many rows unpack to the sums of
// their parts (negative g included), at the largest levels the row count
// allows, and the stochastic rounding is unbiased.
func TestQuantizedGradients(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(3, 4))
	g, h, margin, y := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range margin {
		margin[i] = 12*rng.Float64() - 6
		if rng.Float64() < 0.5 {
			y[i] = 1
		}
	}
	packed := make([]int64, n)
	sc := gradients(packed, g, h, margin, y, n, 7, 0)
	var sum int64
	var G, H, gq, hq float64
	for i, v := range packed {
		sum += v
		a, b := unpack(v)
		if b < 0 || float64(a) < g[i]/sc.g-1 || float64(a) > g[i]/sc.g+1 || float64(b) > h[i]/sc.h+1 {
			t.Fatalf("row %d: g %v h %v packed to %d, %d", i, g[i], h[i], a, b)
		}
		G, H, gq, hq = G+g[i], H+h[i], gq+float64(a), hq+float64(b)
	}
	sg, sh := unpack(sum)
	if float64(sg) != gq || float64(sh) != hq {
		t.Fatalf("packed sum unpacks to %d, %d; parts sum to %v, %v", sg, sh, gq, hq)
	}
	// Unbiased: the error of the sum is a random walk, a few √n levels.
	if d := math.Abs(float64(sg)*sc.g - G); d > 5*math.Sqrt(n)*sc.g {
		t.Errorf("G %v, quantized %v", G, float64(sg)*sc.g)
	}
	if d := math.Abs(float64(sh)*sc.h - H); d > 5*math.Sqrt(n)*sc.h {
		t.Errorf("H %v, quantized %v", H, float64(sh)*sc.h)
	}
}
