package models

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// horizonZ appends z = t/(s+t) for every horizon t to dst: the argument of
// the BG-family hypergeometric terms with s = α+T.
func horizonZ(dst, ts []float64, s float64) []float64 {
	for _, t := range ts {
		dst = append(dst, t/(s+t))
	}
	return dst
}

// eulerBracketMulti writes (1−z)^p ₂F₁(p, q; c; z) at every z, the bracket
// of the BG/NBD family's conditional expectation, where the model guarantees
// c − p − q = a − 1 − p (so the product collapses to a power of a − 1).
// Euler's transformation ₂F₁(p, q; c; z) = (1−z)^(c−p−q) ₂F₁(c−p, c−q; c; z)
// turns it into (1−z)^(a−1) ₂F₁(c−p, a−1; c; z): the original series has
// terms growing like (xz)^k/k! for a frequent buyer x, the transformed one
// has parameters that stay O(1) while c grows with x, so it converges in a
// handful of terms and never forms the huge ₂F₁ times the tiny (1−z)^(r+x).
func eulerBracketMulti(dst []float64, a, p, q, c float64, zs []float64) {
	hyp2f1Multi(dst, c-p, c-q, c, zs)
	for i, z := range zs {
		dst[i] *= math.Exp((a - 1) * math.Log1p(-z))
	}
}

// bgFamilyIfAlive writes c/(a−1) · (1 − (1−z)^p ₂F₁(p, q; c; z)) with
// z = t/(α+T+t) for every horizon t (0 for t ≤ 0): E[Y(t) | alive at T] of
// BG/NBD (p = r+x, q = b+x, c = a+b+x−1) and MBG/NBD (q = b+x+1, c = a+b+x).
func bgFamilyIfAlive(dst, ts []float64, alpha, T, a, p, q, c float64) {
	var zBuf [32]float64
	eulerBracketMulti(dst, a, p, q, c, horizonZ(zBuf[:0], ts, alpha+T))
	for i, t := range ts {
		dst[i] = c / (a - 1) * (1 - dst[i])
		if t <= 0 {
			dst[i] = 0
		}
	}
}

// hyp2f1Multi writes ₂F₁(a, b; c; z_i) into dst for several z in [0, 1),
// sharing the series coefficients (a)_k(b)_k/((c)_k k!) across them: the
// DCF of a CLV evaluates one customer's series at a dozen horizons. When the
// series is not suitable (c ≤ 0, z too close to 1 for a fast series, or no
// convergence) it falls back to gonum's mathext.Hypergeo.
func hyp2f1Multi(dst []float64, a, b, c float64, zs []float64) {
	// Large z: gonum transforms to a faster series; small z: shared coefficients.
	var smallBuf [32]int
	small := smallBuf[:0]
	for i, z := range zs {
		if c <= 0 || z > 0.6 {
			dst[i] = mathext.Hypergeo(a, b, c, z)
		} else {
			small = append(small, i)
			dst[i] = 1
		}
	}
	if len(small) == 0 {
		return
	}
	var powBuf [32]float64
	pow := powBuf[:0]
	for range small {
		pow = append(pow, 1)
	}
	coef, lo := 1.0, 0 // small[:lo] have converged
	for k := 0.0; k < 4000 && lo < len(small); k++ {
		coef *= (a + k) * (b + k) / ((c + k) * (k + 1))
		if math.IsInf(coef, 0) || math.IsNaN(coef) {
			break
		}
		// Past the coefficients' peak the terms shrink geometrically, so a
		// negligible term means the rest is negligible too.
		shrinking := math.Abs((a+k+1)*(b+k+1)/((c+k+1)*(k+2))) < 1/0.6
		for j := lo; j < len(small); j++ {
			i := small[j]
			pow[j] *= zs[i]
			t := coef * pow[j]
			dst[i] += t
			if j == lo && shrinking && math.Abs(t) <= 1e-17*math.Abs(dst[i]) {
				lo++
			}
		}
	}
	for _, i := range small[lo:] { // did not converge: the general routine
		dst[i] = mathext.Hypergeo(a, b, c, zs[i])
	}
}
