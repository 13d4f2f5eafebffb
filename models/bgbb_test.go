package models

import (
	"math"
	"testing"
)

// The BG/BB likelihood is that of one purchase sequence; summed over every
// sequence of n opportunities it must be 1. There are C(t_x−1, x−1)
// sequences with x purchases, the last at t_x.
func TestBGBBSumsToOne(t *testing.T) {
	m := BGBB{Alpha: 1.2, Beta: 0.75, Gamma: 0.66, Delta: 2.78}
	for _, n := range []float64{1, 2, 6, 11} {
		total := math.Exp(m.LogLikelihood(0, 0, n))
		for tx := 1.0; tx <= n; tx++ {
			for x := 1.0; x <= tx; x++ {
				total += binom(tx-1, x-1) * math.Exp(m.LogLikelihood(x, tx, n))
			}
		}
		near(t, "Σ L", total, 1, 1e-12)
	}
}

func binom(n, k float64) float64 {
	a, _ := math.Lgamma(n + 1)
	b, _ := math.Lgamma(k + 1)
	c, _ := math.Lgamma(n - k + 1)
	return math.Round(math.Exp(a - b - c))
}

func TestBGBBGradient(t *testing.T) {
	data := []RFGroup{{X: 0, Tx: 0, T: 6, Weight: 3}, {X: 2, Tx: 4, T: 6, Weight: 1}, {X: 5, Tx: 6, T: 6, Weight: 2}, {X: 1, Tx: 1, T: 6, Weight: 1}}
	p := []float64{math.Log(1.2), math.Log(0.75), math.Log(0.66), math.Log(2.78)}
	from := func(v []float64) BGBB {
		return BGBB{Alpha: math.Exp(v[0]), Beta: math.Exp(v[1]), Gamma: math.Exp(v[2]), Delta: math.Exp(v[3])}
	}
	f := func(v []float64) float64 {
		s := 0.0
		for _, g := range data {
			s += g.Weight * from(v).LogLikelihood(g.X, g.Tx, g.T)
		}
		return s
	}
	got := make([]float64, 4)
	for _, g := range data {
		from(p).logLikGrad(g.X, g.Tx, g.T, g.Weight, got)
	}
	for i := range p {
		if num := centralDiff(f, p, i); math.Abs(got[i]-num) > 1e-6*math.Max(1, math.Abs(num)) {
			t.Errorf("bg/bb d/dlog θ%d = %.8f, finite difference %.8f", i, got[i], num)
		}
	}
}

// P(alive) and expected purchases obey their limits: a customer who bought
// at the last opportunity is more likely alive than one silent since the first.
func TestBGBBPredictions(t *testing.T) {
	m := BGBB{Alpha: 1.2, Beta: 0.75, Gamma: 0.66, Delta: 2.78}
	recent, lapsed := m.PAlive(3, 6, 6), m.PAlive(3, 3, 6)
	if !(recent > lapsed && recent <= 1 && lapsed > 0) {
		t.Errorf("P(alive) recent %v, lapsed %v", recent, lapsed)
	}
	if e := m.ExpectedPurchases(0, 3, 6, 6); e != 0 {
		t.Errorf("E[X(n, n)] = %v, want 0", e)
	}
	// One more opportunity: P(buy) = P(alive at n+1) · E[p | x, n, alive] = P(alive) · (α+x)/(α+β+n).
	near(t, "E[X(n,n+1)]", m.ExpectedPurchases(1, 3, 6, 6), recent*(1.2+3)/(1.2+0.75+6), 1e-12)
}

// E[X(n)] of a new customer equals the expected count under the likelihood:
// Σ over all sequences of n opportunities of x · P(sequence).
func TestBGBBPopulationExpectation(t *testing.T) {
	m := BGBB{Alpha: 1.2, Beta: 0.75, Gamma: 0.66, Delta: 2.78}
	for _, n := range []float64{1, 4, 9} {
		e := 0.0
		for tx := 1.0; tx <= n; tx++ {
			for x := 1.0; x <= tx; x++ {
				e += x * binom(tx-1, x-1) * math.Exp(m.LogLikelihood(x, tx, n))
			}
		}
		near(t, "E[X(n)]", m.ExpectedPurchasesPopulation(n), e, 1e-10)
	}
}
