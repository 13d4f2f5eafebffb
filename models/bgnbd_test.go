package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mathext"

	"github.com/churn-dev/churn/internal/testutil"
)

// cdnowCBS reads BTYD's cdnowSummary cbs (x, t.x, T.cal in weeks, m.x).
func cdnowCBS(t testing.TB) (x, tx, T, mx []float64) {
	t.Helper()
	recs := testutil.ReadCSV(t, testutil.SharedData(t, "cdnow/btyd_cdnowSummary_cbs.csv"))
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, r := range recs[1:] { // cust,x,t.x,T.cal,x.star,m.x
		x, tx, T, mx = append(x, num(r[1])), append(tx, num(r[2])), append(T, num(r[3])), append(mx, num(r[5]))
	}
	return
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", name, got, want, tol)
	}
}

// Reference: Fader, Hardie & Lee (2005) and lifetimes 0.11.3 on the CDNOW
// 1/10 sample (../shared/data/README.md): r 0.242593, alpha 4.413532,
// a 0.792886, b 2.425752, LL −9582.43.
func TestBGNBDCDNOW(t *testing.T) {
	x, tx, T, _ := cdnowCBS(t)
	if len(x) != 2357 {
		t.Fatalf("customers = %d, want 2357", len(x))
	}
	m, err := FitBGNBD(CompressRF(x, tx, T))
	if err != nil {
		t.Fatal(err)
	}
	// Tolerances: the optimum is flat; 1e-3 relative on parameters, 0.01 on LL.
	near(t, "r", m.R, 0.242593, 0.242593*1e-3)
	near(t, "alpha", m.Alpha, 4.413532, 4.413532*1e-3)
	near(t, "a", m.A, 0.792886, 0.792886*2e-3)
	near(t, "b", m.B, 2.425752, 2.425752*2e-3)
	near(t, "loglik", m.LogLik, -9582.43, 0.01)

	// lifetimes' documented spot values with the published parameters.
	pub := BGNBD{R: 0.242593, Alpha: 4.413532, A: 0.792886, B: 2.425752}
	near(t, "P(alive) x=2", pub.PAlive(2, 30.43, 38.86), 0.7266, 5e-4)
	near(t, "P(alive) x=1", pub.PAlive(1, 1.71, 38.86), 0.2122, 5e-4)
	near(t, "E[Y(39)] x=2", pub.ExpectedPurchases(39, 2, 30.43, 38.86), 1.2259, 5e-4)
	near(t, "E[Y(39)] x=1", pub.ExpectedPurchases(39, 1, 1.71, 38.86), 0.2033, 5e-4)
	near(t, "E[Y(39)] x=0", pub.ExpectedPurchases(39, 0, 0, 38.86), 0.1948, 5e-4)
	var sumE, sumP float64
	for i := range x {
		sumE += pub.ExpectedPurchases(39, x[i], tx[i], T[i])
		sumP += pub.PAlive(x[i], tx[i], T[i])
	}
	near(t, "Σ E[Y(39)]", sumE, 1653.42, 0.5)
	near(t, "mean P(alive)", sumP/float64(len(x)), 0.8134, 5e-4)
}

// Reference: Fader & Hardie (2013) on the 946 CDNOW repeat buyers:
// p 6.25, q 3.74, gamma 15.44, LL −4055.92; lifetimes' conditional expected
// spend of the first three repeat buyers 24.6586, 18.9115, 35.1710.
func TestGammaGammaCDNOW(t *testing.T) {
	x, _, _, mx := cdnowCBS(t)
	m, err := FitGammaGamma(x, mx)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p", m.P, 6.25, 0.01)
	near(t, "q", m.Q, 3.74, 0.01)
	near(t, "gamma", m.Gamma, 15.44, 0.02)
	near(t, "loglik", m.LogLik, -4055.92, 0.05)
}

func TestBGNBDNoRepeatBuyers(t *testing.T) {
	_, err := FitBGNBD([]RFGroup{{X: 0, Tx: 0, T: 10, Weight: 5}})
	if err == nil {
		t.Fatal("want an error when no customer repeats")
	}
}

func TestCLVUndiscountedEqualsOrdersTimesSpend(t *testing.T) {
	c := CLV{Purchases: BGNBD{R: 0.242593, Alpha: 4.413532, A: 0.792886, B: 2.425752}, Spend: GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}}
	got := c.Value(2, 30.43, 38.86, 40, 52, 12, 0)
	want := c.Purchases.ExpectedPurchases(52, 2, 30.43, 38.86) * c.Spend.ExpectedSpend(2, 40)
	near(t, "clv rate 0", got, want, 1e-9)
	if d := c.Value(2, 30.43, 38.86, 40, 52, 12, 0.01); !(d < got && d > got/(1.01*1.01*1.01*1.01*1.01*1.01*1.01*1.01*1.01*1.01*1.01*1.01)) {
		t.Errorf("discounted CLV %v not between undiscounted %v and fully discounted", d, got)
	}
	// Fader & Hardie (2013) eq. 5 by hand for x=2, m=40.
	near(t, "E[Z]", c.Spend.ExpectedSpend(2, 40), 6.25*(15.44+80)/(12.5+3.74-1), 1e-12)
}

// The analytic gradients must match central finite differences.
func TestAnalyticGradients(t *testing.T) {
	groups := CompressRF([]float64{0, 1, 2, 2, 5, 0}, []float64{0, 3.5, 10, 20, 30.1, 0}, []float64{38, 38, 30, 39, 38.9, 12})
	p := []float64{math.Log(0.3), math.Log(4), math.Log(0.8), math.Log(2.4)}
	got := make([]float64, 4)
	bgnbdFromLog(p).logLikGrad(groups, got)
	f := func(v []float64) float64 { return bgnbdFromLog(v).logLikGrad(groups, nil) }
	for i := range p {
		num := centralDiff(f, p, i)
		if math.Abs(got[i]-num) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("bgnbd d/dlog θ%d = %.8f, finite difference %.8f", i, got[i], num)
		}
	}
	xs, ms := []float64{1, 2, 5}, []float64{20, 35.5, 12}
	gg := func(v []float64) float64 {
		m := GammaGamma{P: math.Exp(v[0]), Q: math.Exp(v[1]), Gamma: math.Exp(v[2])}
		s := 0.0
		for i := range xs {
			s -= m.LogLikelihood(xs[i], ms[i])
		}
		return s
	}
	lp := []float64{math.Log(6), math.Log(3.7), math.Log(15)}
	gg3 := make([]float64, 3)
	ggNegLogLikGrad(xs, ms, []float64{math.Log(20), math.Log(35.5), math.Log(12)}, lp, gg3)
	for i := range lp {
		num := centralDiff(gg, lp, i)
		if math.Abs(gg3[i]-num) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("gamma-gamma d/dlog θ%d = %.8f, finite difference %.8f", i, gg3[i], num)
		}
	}
}

func centralDiff(f func([]float64) float64, p []float64, i int) float64 {
	const h = 1e-6
	a, b := append([]float64(nil), p...), append([]float64(nil), p...)
	a[i] += h
	b[i] -= h
	return (f(a) - f(b)) / (2 * h)
}

// Reference: BTYDplus mbgnbd on the CDNOW sample (../shared/data/README.md):
// r 0.525, alpha 6.183, a 0.891, b 1.614, LL −9582.14.
func TestMBGNBDCDNOW(t *testing.T) {
	x, tx, T, _ := cdnowCBS(t)
	m, err := FitMBGNBD(CompressRF(x, tx, T))
	if err != nil {
		t.Fatal(err)
	}
	// Published to 3 decimals: tolerance half a unit in the last digit plus optimiser slack.
	near(t, "r", m.R, 0.525, 0.002)
	near(t, "alpha", m.Alpha, 6.183, 0.01)
	near(t, "a", m.A, 0.891, 0.002)
	near(t, "b", m.B, 1.614, 0.005)
	near(t, "loglik", m.LogLik, -9582.14, 0.01)
	// One-time buyers are no longer certainly alive.
	if p := m.PAlive(0, 0, 38.86); !(p > 0 && p < 1) {
		t.Errorf("MBG/NBD P(alive | x=0) = %v, want in (0, 1)", p)
	}
}

func TestMBGNBDGradient(t *testing.T) {
	groups := CompressRF([]float64{0, 1, 2, 2, 5, 0}, []float64{0, 3.5, 10, 20, 30.1, 0}, []float64{38, 38, 30, 39, 38.9, 12})
	p := []float64{math.Log(0.5), math.Log(6), math.Log(0.9), math.Log(1.6)}
	got := make([]float64, 4)
	bgFamilyLogLikGrad(math.Exp(p[0]), math.Exp(p[1]), math.Exp(p[2]), math.Exp(p[3]), true, groups, got)
	f := func(v []float64) float64 {
		return bgFamilyLogLikGrad(math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3]), true, groups, nil)
	}
	for i := range p {
		if num := centralDiff(f, p, i); math.Abs(got[i]-num) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("mbgnbd d/dlog θ%d = %.8f, finite difference %.8f", i, got[i], num)
		}
	}
}

func TestPredictAllMatchesPerCustomer(t *testing.T) {
	t.Run("hash", testPredictAll)
	t.Run("every key collides", func(t *testing.T) {
		groupHash = func(a, b, c float64) uint64 { return 7 }
		defer func() { groupHash = mix3 }()
		testPredictAll(t)
	})
}

func testPredictAll(t *testing.T) {
	c := CLV{Purchases: MBGNBD{R: 0.5, Alpha: 6, A: 0.9, B: 1.6}, Spend: GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}}
	x, tx, T, m := []float64{0, 2, 2, 5, 0}, []float64{0, 30, 30, 20, 0}, []float64{38, 38.9, 38.9, 38, 38}, []float64{0, 20, 40, 10, 0}
	out := make([]float64, 15)
	PredictAll(out, c, x, tx, T, m, 52, 12, 0.01)
	for i := range x {
		near(t, "P(alive)", out[3*i], c.Purchases.PAlive(x[i], tx[i], T[i]), 0)
		near(t, "E[Y]", out[3*i+1], c.Purchases.ExpectedPurchases(52, x[i], tx[i], T[i]), 1e-12)
		near(t, "CLV", out[3*i+2], c.Value(x[i], tx[i], T[i], m[i], 52, 12, 0.01), 1e-9)
	}
}

// The shared-coefficient series agrees with gonum's ₂F₁ and with the
// papers' formulas evaluated one horizon at a time.
func TestHyp2F1MultiAndMultiHorizon(t *testing.T) {
	zs := []float64{0.01, 0.2, 0.5, 0.8, 0.94}
	for _, p := range [][3]float64{{0.24, 2.4, 2.2}, {10.2, 12.4, 22.2}, {1.5, 0.7, 3.1}, {0.3, 0.9, -0.5}} {
		got := make([]float64, len(zs))
		hyp2f1Multi(got, p[0], p[1], p[2], zs)
		for i, z := range zs {
			want := mathext.Hypergeo(p[0], p[1], p[2], z)
			if math.Abs(got[i]-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("2F1(%v; %v) = %.15g, gonum %.15g", p, z, got[i], want)
			}
		}
	}
	// The papers' untransformed formulas (FHL 2005 eq. 10; Batislam et al.
	// 2007 eq. 12) with gonum's ₂F₁: our Euler-transformed, shared-series,
	// P(alive)-split evaluation must agree to 1e-10.
	paper := func(m PurchaseModel, t, x, tx, T float64) float64 {
		switch m := m.(type) {
		case BGNBD:
			r, al, a, b := m.R, m.Alpha, m.A, m.B
			num := (a + b + x - 1) / (a - 1) * (1 - math.Pow((al+T)/(al+T+t), r+x)*mathext.Hypergeo(r+x, b+x, a+b+x-1, t/(al+T+t)))
			den := 1.0
			if x > 0 {
				den += a / (b + x - 1) * math.Pow((al+T)/(al+tx), r+x)
			}
			return num / den
		case MBGNBD:
			r, al, a, b := m.R, m.Alpha, m.A, m.B
			num := (a + b + x) / (a - 1) * (1 - math.Pow((al+T)/(al+T+t), r+x)*mathext.Hypergeo(r+x, b+x+1, a+b+x, t/(al+T+t)))
			return num / (1 + a/(b+x)*math.Pow((al+T)/(al+tx), r+x))
		}
		panic("model")
	}
	ts := []float64{4, 13, 26, 52, 104}
	for _, m := range []PurchaseModel{BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}, MBGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}, BGNBD{R: 0.8, Alpha: 3, A: 1.6, B: 0.9}} {
		for _, c := range []struct{ x, tx, T float64 }{{0, 0, 38.86}, {2, 30.43, 38.86}, {25, 30, 31}, {0, 0, 0.5}, {80, 70, 78}} {
			got := make([]float64, len(ts))
			m.(aliveSplit).expectedIfAliveMulti(got, ts, c.x, c.T)
			for i, tt := range ts {
				got[i] *= m.PAlive(c.x, c.tx, c.T)
				for _, v := range []float64{got[i], m.ExpectedPurchases(tt, c.x, c.tx, c.T)} {
					if want := paper(m, tt, c.x, c.tx, c.T); math.Abs(v-want) > 1e-10*math.Max(1, math.Abs(want)) {
						t.Errorf("%T %+v t=%v: %.12g, paper's formula %.12g", m, c, tt, v, want)
					}
				}
			}
		}
	}
}

// One RFIndex serves the grouped functions in turn, each as it is without
// one, bit for bit: the weighted groups, expected purchases, predictions
// and medians (the (x, T) grouping made by the first that needs it).
func TestRFIndexSharedAcrossCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	x, tx, T := simulatePareto(rng, 3000, 0.55, 10.6, 0.61, 11.7)
	mx := make([]float64, len(x))
	for i := range mx {
		mx[i] = 10 + float64(i%17)
		T[i] = math.Floor(T[i]/4) * 4 // repeated triples, as days make them
		tx[i] = min(math.Floor(tx[i]/2)*2, T[i])
	}
	for _, m := range []PurchaseModel{ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.61, Beta: 11.7}, BGNBD{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4}} {
		c := CLV{Purchases: m, Spend: GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}}
		ix := IndexRF(x, tx, T)
		if len(ix.of) != len(x) {
			t.Fatalf("%d customers indexed", len(ix.of))
		}
		if a, b := ix.Compress(), CompressRF(x, tx, T); !slices.Equal(a, b) || len(a) >= len(x) {
			t.Fatalf("%s: Compress differs from CompressRF (%d, %d groups)", m.Name(), len(a), len(b))
		}
		same := func(what string, a, b []float64) {
			t.Helper()
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("%s %s [%d]: %v, without the index %v", m.Name(), what, i, a[i], b[i])
				}
			}
		}
		for range 2 { // the second time the (x, T) grouping is the first's
			e1, e2 := make([]float64, len(x)), make([]float64, len(x))
			ix.ExpectedPurchases(e1, m, 39)
			for i := range x {
				e2[i] = m.ExpectedPurchases(39, x[i], tx[i], T[i])
			}
			same("expected purchases", e1, e2)
			p1, p2 := make([]float64, 3*len(x)), make([]float64, 3*len(x))
			PredictAllIndexed(p1, c, ix, x, mx, 52, 12, 0.01)
			PredictAll(p2, c, x, tx, T, mx, 52, 12, 0.01)
			same("predictions", p1, p2)
			n1, n2 := make([]float64, len(x)), make([]float64, len(x))
			if err := MedianNextPurchaseIndexed(n1, m, ix, p1, 52); err != nil {
				t.Fatal(err)
			}
			if err := MedianNextPurchaseAll(n2, m, x, tx, T, nil, 52); err != nil {
				t.Fatal(err)
			}
			same("medians", n1, n2)
		}
	}
}

// groupRF's grouping is the plain one: each triple's index in the distinct
// triples in order of first appearance, equal floats one triple (0 and −0
// apart, as their bits differ; each NaN its own). Many customers, many
// repeats, the table grown from a small hint, and every hash colliding.
func TestGroupRFFirstAppearance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 300_000
	x, tx, T := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], tx[i], T[i] = float64(rng.IntN(30)), float64(rng.IntN(200)), float64(rng.IntN(60)+200)
		switch rng.IntN(1000) {
		case 0:
			x[i] = math.NaN()
		case 1:
			tx[i] = math.Copysign(0, -1)
		}
	}
	check := func(t *testing.T, x, tx, T []float64) {
		type key struct{ x, tx, T uint64 }
		seen := map[key]int32{}
		var want []RFGroup
		group, keys := groupRF(x, tx, T)
		for i := range x {
			k := key{math.Float64bits(x[i]), math.Float64bits(tx[i]), math.Float64bits(T[i])}
			g, ok := seen[k]
			if !ok || math.IsNaN(x[i]) {
				g = int32(len(want))
				seen[k] = g
				want = append(want, RFGroup{X: x[i], Tx: tx[i], T: T[i]})
			}
			if group[i] != g {
				t.Fatalf("customer %d: group %d, want %d", i, group[i], g)
			}
		}
		if len(keys) != len(want) {
			t.Fatalf("%d groups, want %d", len(keys), len(want))
		}
		for g := range keys {
			if math.Float64bits(keys[g].X) != math.Float64bits(want[g].X) || keys[g].Tx != want[g].Tx || keys[g].T != want[g].T {
				t.Fatalf("group %d is %+v, want %+v", g, keys[g], want[g])
			}
		}
	}
	t.Run("hash", func(t *testing.T) { check(t, x, tx, T) })
	t.Run("every key collides", func(t *testing.T) {
		groupHash = func(a, b, c float64) uint64 { return 7 }
		defer func() { groupHash = mix3 }()
		check(t, x[:20_000], tx[:20_000], T[:20_000])
	})
}
