package models

import (
	"math"
	"runtime"
)

// Column statistics of a row-major matrix X (n×p) on every core: each
// core sums a range of columns, each column's values in row order, so the
// sums are the same whatever the cores (and a core's sums share no cache
// line with another's).

// ColumnMeans returns the mean of each column of X (n×p), ignoring NaN.
func ColumnMeans(X []float64, p int) []float64 {
	sum := make([]float64, p)
	n := len(X) / max(p, 1)
	// A range of columns per core, each column's values summed in row
	// order: the same sums whatever the cores.
	byColumnRanges(p, func(lo, hi int) {
		mu, _ := rangeMeans(X, n, p, lo, hi)
		copy(sum[lo:hi], mu)
	})
	return sum
}

// Directions returns the sign (−1, 0, +1) of the correlation of each
// column of X (n×p) with y, ignoring missing values. One pass over the
// rows with a set of sums per column (a pass per column would stride
// through the whole matrix p times), a range of columns per core; each
// column's sums still take the rows in order.
func Directions(X, y []float64, p int) []float64 {
	out := make([]float64, p)
	byColumnRanges(p, func(lo, hi int) {
		w := hi - lo
		n, sx, sy, sxy, sxx := make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w)
		for i, yi := range y {
			for j, v := range X[i*p+lo : i*p+hi] {
				if math.IsNaN(v) {
					continue
				}
				n[j]++
				sx[j] += v
				sy[j] += yi
				sxy[j] += v * yi
				sxx[j] += v * v
			}
		}
		for j := range w {
			if n[j] < 2 {
				continue
			}
			cov := sxy[j]/n[j] - sx[j]/n[j]*sy[j]/n[j]
			if sxx[j]/n[j]-(sx[j]/n[j])*(sx[j]/n[j]) > 0 && cov != 0 {
				out[lo+j] = math.Copysign(1, cov)
			}
		}
	})
	return out
}

// byColumnRanges calls fn for a range [lo, hi) of p columns per core, in
// parallel.
func byColumnRanges(p int, fn func(lo, hi int)) {
	parts := min(p, runtime.GOMAXPROCS(0))
	parallelEach(parts, false, func(k int) { fn(k*p/parts, (k+1)*p/parts) })
}

// rangeMeans returns the means and counts of columns lo..hi−1 of X (n×p),
// NaN left out, each column's values summed in row order; its own slices,
// so no cache line is shared with another core's range.
func rangeMeans(X []float64, n, p, lo, hi int) (mean []float64, count []int) {
	mean, count = make([]float64, hi-lo), make([]int, hi-lo)
	for i := 0; i < n; i++ {
		for j, v := range X[i*p+lo : i*p+hi] {
			if !math.IsNaN(v) {
				mean[j] += v
				count[j]++
			}
		}
	}
	for j := range mean {
		if count[j] > 0 {
			mean[j] /= float64(count[j])
		}
	}
	return mean, count
}
