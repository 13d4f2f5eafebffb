package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// Reference: Fader, Hardie & Lee (2005) / BTYD on the CDNOW sample:
// r 0.5534, alpha 10.580, s 0.6061, beta 11.656 (weakly identified), LL −9594.98;
// P(alive) of the three lifetimes example customers 0.8691, 0.1679, 0.2951.
func TestParetoNBDCDNOW(t *testing.T) {
	x, tx, T, _ := cdnowCBS(t)
	m, err := FitParetoNBD(CompressRF(x, tx, T))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "loglik", m.LogLik, -9594.98, 0.01)
	near(t, "r", m.R, 0.5534, 0.002)
	near(t, "alpha", m.Alpha, 10.58, 0.05)
	near(t, "s", m.S, 0.6061, 0.003)
	near(t, "beta", m.Beta, 11.66, 0.3) // flat direction of the likelihood

	pub := ParetoNBD{R: 0.5533971, Alpha: 10.5801985, S: 0.6060625, Beta: 11.6562237}
	near(t, "P(alive) x=2", pub.PAlive(2, 30.43, 38.86), 0.8691, 5e-4)
	near(t, "P(alive) x=1", pub.PAlive(1, 1.71, 38.86), 0.1679, 5e-4)
	near(t, "P(alive) x=0", pub.PAlive(0, 0, 38.86), 0.2951, 5e-4)
}

// The log-space series must agree with gonum's ₂F₁ where that is accurate,
// and stay finite where a direct evaluation overflows.
func TestLog2F1a1(t *testing.T) {
	for _, c := range []struct{ a, b, z float64 }{{1.5, 0.7, 0.3}, {20, 3, 0.9}, {0.6, 1.6, 0.05}, {3, 40, 0.5}} {
		want := math.Log(mathext.Hypergeo(c.a, c.b, c.a+1, c.z))
		if got := log2F1a1(c.a, c.b, c.z); math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
			t.Errorf("ln 2F1(%v,%v;%v;%v) = %.12f, want %.12f", c.a, c.b, c.a+1, c.z, got, want)
		}
	}
	if v := log2F1a1(600, 600, 0.999); math.IsInf(v, 0) || math.IsNaN(v) || v < 100 {
		t.Errorf("large-parameter series = %v, want a large finite log", v)
	}
}

// Extreme customers (x = 500, long T) give finite likelihoods and P(alive) in [0, 1].
func TestParetoNBDExtremes(t *testing.T) {
	m := ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.61, Beta: 11.7}
	for _, c := range []struct{ x, tx, T float64 }{{500, 300, 310}, {500, 310, 310}, {0, 0, 5000}, {3, 1, 5000}} {
		ll := m.LogLikelihood(c.x, c.tx, c.T)
		p := m.PAlive(c.x, c.tx, c.T)
		if math.IsNaN(ll) || math.IsInf(ll, 0) || !(p >= 0 && p <= 1) {
			t.Errorf("x=%v t_x=%v T=%v: LL %v, P(alive) %v", c.x, c.tx, c.T, ll, p)
		}
	}
}

func TestParetoNBDGradient(t *testing.T) {
	groups := CompressRF([]float64{0, 1, 2, 2, 5, 0, 40}, []float64{0, 3.5, 10, 20, 30.1, 0, 38}, []float64{38, 38, 30, 39, 38.9, 12, 38.5})
	for _, p := range [][]float64{
		{math.Log(0.55), math.Log(10.6), math.Log(0.61), math.Log(11.7)}, // α < β
		{math.Log(0.55), math.Log(14), math.Log(0.61), math.Log(9)},      // α > β
	} {
		from := func(v []float64) ParetoNBD {
			return ParetoNBD{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), S: math.Exp(v[2]), Beta: math.Exp(v[3])}
		}
		f := func(v []float64) float64 { return from(v).totalLogLik(groups) }
		got := make([]float64, 4)
		ll := from(p).totalLogLikGrad(groups, nil, got)
		near(t, "LL agrees with the series-only evaluation", ll, f(p), 1e-9)
		for i := range p {
			if num := centralDiff(f, p, i); math.Abs(got[i]-num) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("pareto/nbd d/dlog θ%d = %.8f, finite difference %.8f", i, got[i], num)
			}
		}
	}
}

// The quadrature form of A₀ agrees with the series where both are accurate,
// and its gradient with finite differences.
func TestLogA0Quadrature(t *testing.T) {
	for _, m := range []ParetoNBD{{R: 0.55, Alpha: 10.6, S: 0.61, Beta: 11.7}, {R: 1.2, Alpha: 20, S: 3, Beta: 200}, {R: 0.7, Alpha: 80, S: 2, Beta: 9}} {
		for _, c := range []struct{ x, tx, T float64 }{{0, 0, 38}, {3, 20, 38}, {40, 37, 38}, {2, 1, 300}} {
			series := m.logA0(c.x, c.tx, c.T)
			q, _ := m.logA0Quad(c.x, c.tx, c.T, false)
			if math.Abs(series-q) > 1e-9*math.Max(1, math.Abs(series)) {
				t.Errorf("%+v %+v: series %.12f, quadrature %.12f", m, c, series, q)
			}
			_, g := m.logA0Quad(c.x, c.tx, c.T, true)
			p := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}
			f := func(v []float64) float64 {
				r, _ := ParetoNBD{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), S: math.Exp(v[2]), Beta: math.Exp(v[3])}.logA0Quad(c.x, c.tx, c.T, false)
				return r
			}
			theta := []float64{m.R, m.Alpha, m.S, m.Beta}
			for j := range p {
				if num := centralDiff(f, p, j); math.Abs(g[j]*theta[j]-num) > 1e-6*math.Max(1, math.Abs(num)) {
					t.Errorf("%+v %+v: d/dlog θ%d = %.8f, finite difference %.8f", m, c, j, g[j]*theta[j], num)
				}
			}
		}
	}
}

// Data without lifetime heterogeneity put the Pareto/NBD optimum at the
// boundary s, β → ∞; the fit must still end, with a finite likelihood.
func TestParetoNBDBoundaryEnds(t *testing.T) {
	x, tx, T := simulateBG(rand.New(rand.NewPCG(9, 9)), 300, 0.5, 8, 0.8, 2.5, false)
	groups := CompressRF(x, tx, T)
	m, err := FitParetoNBD(groups)
	if err != nil {
		t.Fatal(err)
	}
	if ll := TotalLogLik(m, groups); math.IsNaN(ll) || math.IsInf(ll, 0) || ll < -1850 {
		t.Errorf("LL %v at %+v", ll, m)
	}
}

// totalLogLik is the series-only evaluation of the summed log-likelihood,
// an independent reference for totalLogLikGrad.
func (m ParetoNBD) totalLogLik(groups []RFGroup) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lgR, _ := math.Lgamma(r)
	base := -lgR + r*math.Log(alpha) + s*math.Log(beta)
	logS := math.Log(s)
	prevX, lgRx := math.NaN(), 0.0
	ll := 0.0
	for _, g := range groups {
		if g.X != prevX {
			prevX = g.X
			lgRx, _ = math.Lgamma(r + g.X)
		}
		alive := -(r+g.X)*math.Log(alpha+g.T) - s*math.Log(beta+g.T)
		ll += g.Weight * (lgRx + base + logAddExp(alive, logS-math.Log(r+s+g.X)+m.logA0(g.X, g.Tx, g.T)))
	}
	return ll
}

// The series summed once per (x, t) (paretoSeries) give the likelihood and
// gradient of the series summed per group, bit for bit, for α < β, α > β
// and parameters where some groups go to quadrature.
func TestParetoSeriesSharedExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var x, tx, T []float64
	for range 5000 {
		big := float64(300 + r.IntN(60))
		n := float64(r.IntN(8))
		last := 0.0
		if n > 0 {
			last = float64(1 + r.IntN(int(big)))
		}
		x, tx, T = append(x, n), append(tx, last), append(T, big)
	}
	groups := CompressRF(x, tx, T)
	ps := newParetoSeries(groups)
	if len(ps.x) >= 2*len(groups) {
		t.Fatalf("%d series for %d groups: nothing shared", len(ps.x), len(groups))
	}
	for _, m := range []ParetoNBD{
		{R: 0.55, Alpha: 10.6, S: 0.61, Beta: 11.7},
		{R: 0.55, Alpha: 14, S: 0.61, Beta: 9},
		{R: 0.8, Alpha: 2, S: 3, Beta: 900}, // z near 1: quadrature for some
		{R: 1.2, Alpha: 700, S: 0.4, Beta: 1.5},
	} {
		quad := 0
		for _, v := range ps.sum(m, true) {
			if !v.ok {
				quad++
			}
		}
		want, got := make([]float64, 4), make([]float64, 4)
		llWant := m.totalLogLikGrad(groups, nil, want)
		llGot := m.totalLogLikGrad(groups, ps, got)
		if math.Float64bits(llWant) != math.Float64bits(llGot) || !slices.Equal(want, got) {
			t.Errorf("%+v: shared series LL %v grad %v, per group %v %v", m, llGot, got, llWant, want)
		}
		if a, b := m.totalLogLikGrad(groups, nil, nil), m.totalLogLikGrad(groups, ps, nil); math.Float64bits(a) != math.Float64bits(b) {
			t.Errorf("%+v: shared series LL (value only) %v, per group %v", m, b, a)
		}
		t.Logf("%+v: %d series for %d groups, %d left to quadrature", m, len(ps.x), len(groups), quad)
	}
}
