package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

func BenchmarkFitBGNBDCDNOW(b *testing.B) {
	x, tx, T, _ := cdnowCBS(b)
	groups := CompressRF(x, tx, T)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitBGNBD(groups); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFitLogit50k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, p = 50000, 18
	X := make([]float64, n*p)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			X[i*p+j] = v
			s += v * float64(j%3-1)
		}
		if rng.Float64() < 1/(1+math.Exp(-s)) {
			y[i] = 1
		}
	}
	names := make([]string, p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitLogit(names, X, y, LogitConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
