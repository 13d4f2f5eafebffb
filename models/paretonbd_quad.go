package models

import (
	"math"

	"gonum.org/v1/gonum/integrate/quad"
)

// glNodes and glWeights are the 8-point Gauss-Legendre rule on [−1, 1].
var glNodes, glWeights = func() ([]float64, []float64) {
	x, w := make([]float64, 8), make([]float64, 8)
	quad.Legendre{}.FixedLocations(x, w, -1, 1)
	return x, w
}()

// gl8 integrates f over [a, b] by the 8-point Gauss-Legendre rule.
func gl8(f func(float64) float64, a, b float64) float64 {
	h, c := (b-a)/2, (a+b)/2
	sum := 0.0
	for i, x := range glNodes {
		sum += glWeights[i] * f(c+h*x)
	}
	return h * sum
}

// seriesTerms estimates how many terms the ₂F₁(a, b; a+1; z) series needs:
// the terms peak near k ≈ b·z/(1−z).
func seriesTerms(b, z float64) float64 { return (b + 1) * z / (1 - z) }

// maxSeriesTerms is where logA0 switches from the series to quadrature.
const maxSeriesTerms = 400

// logA0Quad returns ln A₀ and, when grad is set, ∂ln A₀/∂(r, α, s, β), from
// the integral form of the Pareto/NBD likelihood's second term (Fader,
// Hardie & Lee 2005 note, eq. 19–21):
//
//	A₀ = (r+s+x) ∫_{t_x}^{T} (α+τ)^{−(r+x)} (β+τ)^{−(s+1)} dτ,
//
// by 8-point Gauss-Legendre on panels that halve towards t_x, where the
// integrand is steepest. The integrand is scaled by its value at t_x, so
// nothing underflows; derivatives are taken under the integral. It serves
// parameters where the series converges slowly (z near 1: β ≫ α or α ≫ β).
func (m ParetoNBD) logA0Quad(x, tx, T float64, grad bool) (float64, [4]float64) {
	var d [4]float64
	L := T - tx
	if L <= 0 {
		return math.Inf(-1), d
	}
	R, s1, a := m.R+x, m.S+1, m.R+m.S+x
	lnF := func(tau float64) float64 { return -R*math.Log(m.Alpha+tau) - s1*math.Log(m.Beta+tau) }
	f0 := lnF(tx)
	// Panels down to the integrand's own scale near t_x, plus margin.
	scale := math.Min((m.Alpha+tx)/R, (m.Beta+tx)/s1)
	panels := min(60, int(math.Ceil(math.Log2(math.Max(1, L/scale))))+12)
	var I float64
	var J [4]float64
	add := func(lo, hi float64) {
		half, mid := (hi-lo)/2, (hi+lo)/2
		for i, u := range glNodes {
			tau := mid + half*u
			g := math.Exp(lnF(tau)-f0) * glWeights[i] * half
			I += g
			if grad {
				J[0] -= g * math.Log(m.Alpha+tau)
				J[1] -= g * R / (m.Alpha + tau)
				J[2] -= g * math.Log(m.Beta+tau)
				J[3] -= g * s1 / (m.Beta + tau)
			}
		}
	}
	hi := L
	for range panels {
		add(tx+hi/2, tx+hi)
		hi /= 2
	}
	add(tx, tx+hi)
	if grad {
		for j := range d {
			d[j] = J[j] / I
		}
		d[0] += 1 / a
		d[2] += 1 / a
	}
	return math.Log(a) + f0 + math.Log(I), d
}
