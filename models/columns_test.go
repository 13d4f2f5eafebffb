package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The standardiser's means and deviations and ColumnMeans, summed by
// column ranges on several cores, are those of one pass over the rows in
// order, NaN left out.
func TestColumnStatsMatchSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range []int{1, 2, 3, 5, 63} {
		n := 3001
		X := make([]float64, n*p)
		for i := range X {
			X[i] = rng.NormFloat64() * 1e3
			if rng.IntN(9) == 0 || i%p == 0 && i < n*p/2 {
				X[i] = math.NaN()
			}
		}
		mean, count, ss := make([]float64, p), make([]int, p), make([]float64, p)
		for i := range n {
			for j, v := range X[i*p : (i+1)*p] {
				if !math.IsNaN(v) {
					mean[j] += v
					count[j]++
				}
			}
		}
		for j := range mean {
			mean[j] /= float64(count[j])
		}
		for i := range n {
			for j, v := range X[i*p : (i+1)*p] {
				if !math.IsNaN(v) {
					ss[j] += (v - mean[j]) * (v - mean[j])
				}
			}
		}
		gotMean, gotSD := standardiser(X, n, p)
		means := ColumnMeans(X, p)
		for j := range p {
			if sd := math.Sqrt(ss[j] / float64(count[j])); gotMean[j] != mean[j] || gotSD[j] != sd {
				t.Fatalf("p=%d column %d: mean %v sd %v, in order %v %v", p, j, gotMean[j], gotSD[j], mean[j], sd)
			}
			if means[j] != mean[j] {
				t.Fatalf("p=%d column %d: ColumnMeans %v, in row order %v", p, j, means[j], mean[j])
			}
		}
	}
}

// Directions in one pass gives the signs of the column-by-column sums.
func TestDirectionsOnePass(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, p = 2000, 9
	X, y := make([]float64, n*p), make([]float64, n)
	for i := range y {
		y[i] = float64(rng.IntN(2))
		for j := range p {
			v := rng.NormFloat64() + float64(j%3-1)*y[i] // columns 0, 3, 6 fall with y; 2, 5, 8 rise
			if rng.IntN(10) == 0 {
				v = math.NaN()
			}
			X[i*p+j] = v
		}
	}
	for i := range n {
		X[i*p+4] = 7 // constant: no direction
	}
	ref := make([]float64, p)
	for j := range p {
		var cnt, sx, sy, sxy, sxx float64
		for i := range y {
			if v := X[i*p+j]; !math.IsNaN(v) {
				cnt++
				sx, sy, sxy, sxx = sx+v, sy+y[i], sxy+v*y[i], sxx+v*v
			}
		}
		if cov := sxy/cnt - sx/cnt*sy/cnt; sxx/cnt-(sx/cnt)*(sx/cnt) > 0 && cov != 0 {
			ref[j] = math.Copysign(1, cov)
		}
	}
	got := Directions(X, y, p)
	if !slices.Equal(got, ref) || got[0] != -1 || got[2] != 1 || got[4] != 0 {
		t.Fatalf("directions %v, column by column %v", got, ref)
	}
}
