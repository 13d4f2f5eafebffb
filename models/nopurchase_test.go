package models

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// For a new customer (x = 0, T = 0) the BG/NBD P(X(t) = 0) is (α/(α+t))^r
// (Fader, Hardie & Lee 2005, eq. 8 at x = 0).
func TestProbNoPurchaseBGNBDNewCustomer(t *testing.T) {
	m := BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}
	p, err := ProbNoPurchase(m, 39, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "P0", p, math.Pow(4.4136/(4.4136+39), 0.2426), 1e-12)
}

// Pareto/NBD P(no purchase) of a new customer agrees with simulation (4 se),
// and for an existing customer it is consistent with E[Y(t)] ≥ P(Y(t) ≥ 1).
func TestProbNoPurchaseParetoNBD(t *testing.T) {
	m := ParetoNBD{R: 0.7, Alpha: 8, S: 0.8, Beta: 15}
	rng := rand.New(rand.NewPCG(3, 4))
	const n, horizon = 100000, 20.0
	zero := 0.0
	for range n {
		lam, mu := gammaDraw(rng, m.R, 1/m.Alpha), gammaDraw(rng, m.S, 1/m.Beta)
		if rng.ExpFloat64()/lam > math.Min(horizon, rng.ExpFloat64()/mu) {
			zero++
		}
	}
	sim := zero / n
	p, err := ProbNoPurchase(m, horizon, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if se := math.Sqrt(sim * (1 - sim) / n); math.Abs(p-sim) > 4*se {
		t.Errorf("P0 = %.5f, simulated %.5f ± %.5f", p, sim, se)
	}
	for _, c := range []struct{ x, tx, T float64 }{{0, 0, 30}, {3, 20, 30}, {500, 29.9, 30}} {
		p0, _ := ProbNoPurchase(m, 10, c.x, c.tx, c.T)
		e := m.ExpectedPurchases(10, c.x, c.tx, c.T)
		if !(p0 > 0 && p0 < 1) || e < 1-p0-1e-9 {
			t.Errorf("%+v: P0 %v, E[Y] %v: want E[Y] ≥ 1 − P0", c, p0, e)
		}
	}

}

func TestMedianTimeToNextPurchase(t *testing.T) {
	m := BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259}
	// Closed form for BG/NBD: (A/(A+t))^R = 1 − 0.5/P(alive).
	x, tx, T := 2.0, 30.43, 38.86
	pa := m.PAlive(x, tx, T)
	want := (m.Alpha + T) * (math.Pow(1-0.5/pa, -1/(m.R+x)) - 1)
	got, ok, err := MedianTimeToNextPurchase(m, x, tx, T, 1000)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	near(t, "median", got, want, 1e-6)
	if _, ok, _ := MedianTimeToNextPurchase(m, 1, 1.71, 38.86, 1000); ok {
		t.Error("P(alive) 0.21: the median should never be reached")
	}
}

// P(Y(t) = k) sums to 1 over k and its mean equals E[Y(t)] from the models'
// own (hypergeometric) formulas: two independent derivations agree.
func TestProbPurchasesConsistent(t *testing.T) {
	for _, m := range []PurchaseModel{
		BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259},
		MBGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		ParetoNBD{R: 0.5534, Alpha: 10.58, S: 0.6061, Beta: 11.66},
	} {
		for _, c := range []struct{ x, tx, T float64 }{{0, 0, 38.86}, {2, 30.43, 38.86}, {7, 35, 38}} {
			var sum, mean float64
			for k := 0; k < 400; k++ {
				p, err := ProbPurchases(m, k, 39, c.x, c.tx, c.T)
				if err != nil {
					t.Fatal(err)
				}
				sum += p
				mean += float64(k) * p
			}
			near(t, m.Name()+" Σ P(k)", sum, 1, 1e-8)
			near(t, m.Name()+" Σ k P(k) = E[Y]", mean, m.ExpectedPurchases(39, c.x, c.tx, c.T), 1e-6)
		}
	}
}

// BG/BB: P(k in the next n* opportunities) sums to 1 and its mean equals
// E[X(n, n+n*)] of Fader, Hardie & Shang (2010), eq. 13.
func TestBGBBProbPurchases(t *testing.T) {
	m := BGBB{Alpha: 1.2, Beta: 0.75, Gamma: 0.66, Delta: 2.78}
	for _, c := range []struct{ x, tx, n, ns float64 }{{0, 0, 6, 5}, {3, 6, 6, 5}, {3, 3, 6, 1}, {2, 4, 6, 12}} {
		var sum, mean float64
		for k := 0; k <= int(c.ns); k++ {
			p, err := ProbPurchases(m, k, c.ns, c.x, c.tx, c.n)
			if err != nil {
				t.Fatal(err)
			}
			sum += p
			mean += float64(k) * p
		}
		near(t, "Σ P(k)", sum, 1, 1e-12)
		near(t, "Σ k P(k)", mean, m.ExpectedPurchases(c.ns, c.x, c.tx, c.n), 1e-12)
	}
}

// The grouped, closed-form / tabulated medians agree with the bisection on
// ProbNoPurchase for every model, including the customers with no median
// within the limit.
func TestMedianNextPurchaseAll(t *testing.T) {
	x := []float64{0, 1, 2, 2, 7, 25, 3, 0, 1, 40}
	tx := []float64{0, 30, 30.43, 10, 36, 38, 5, 0, 38, 38.5}
	T := []float64{38.86, 38.86, 38.86, 38.86, 38.86, 39, 38.86, 2, 38.5, 39}
	for _, m := range []PurchaseModel{
		BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259},
		MBGNBD{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		ParetoNBD{R: 0.5533, Alpha: 10.5776, S: 0.6061, Beta: 11.6693},
		ParetoNBD{R: 2, Alpha: 3, S: 1.7, Beta: 20},
	} {
		for _, limit := range []float64{52, 520} {
			got := make([]float64, len(x))
			if err := MedianNextPurchaseAll(got, m, x, tx, T, nil, limit); err != nil {
				t.Fatal(err)
			}
			// With PredictAll's P(alive)s: the same bits.
			pred := make([]float64, 3*len(x))
			PredictAll(pred, CLV{Purchases: m, Spend: GammaGamma{P: 1, Q: 2, Gamma: 1}}, x, tx, T, make([]float64, len(x)), limit, 12, 0.01)
			withPred := make([]float64, len(x))
			if err := MedianNextPurchaseAll(withPred, m, x, tx, T, pred, limit); err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if math.Float64bits(withPred[i]) != math.Float64bits(got[i]) {
					t.Errorf("%s limit %v customer %d: %v with PredictAll's P(alive), %v without", m.Name(), limit, i, withPred[i], got[i])
				}
			}
			found := 0
			for i := range x {
				want, ok, err := MedianTimeToNextPurchase(m, x[i], tx[i], T[i], limit)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case !ok && !math.IsNaN(got[i]):
					t.Errorf("%s limit %v customer %d: %v, want no median", m.Name(), limit, i, got[i])
				case ok && math.Abs(got[i]-want) > 1e-7*want:
					t.Errorf("%s limit %v customer %d: %.10g, bisection %.10g", m.Name(), limit, i, got[i], want)
				case ok:
					found++
				}
			}
			if found == 0 || found == len(x) {
				t.Errorf("%s limit %v: %d of %d customers have a median; the cases should cover both", m.Name(), limit, found, len(x))
			}
		}
	}
	if err := MedianNextPurchaseAll(make([]float64, 1), BGBB{Alpha: 1, Beta: 1, Gamma: 1, Delta: 1}, []float64{1}, []float64{1}, []float64{2}, nil, 5); err == nil {
		t.Error("BG/BB: no error")
	}
}

// ProbNoPurchaseAll gives ProbNoPurchase's values bit for bit, customers
// sharing x and T (Pareto/NBD's shared integral) or not.
func TestProbNoPurchaseAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 3000
	x, tx, T := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], T[i] = float64(rng.IntN(6)), float64(10+rng.IntN(5)) // few (x, T): the integral is shared
		if x[i] > 0 {
			tx[i] = T[i] * rng.Float64()
		}
	}
	for _, m := range []PurchaseModel{ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.6, Beta: 11.7}, ParetoNBD{R: 0.8, Alpha: 3, S: 1.2, Beta: 40},
		BGNBD{R: 0.25, Alpha: 4.4, A: 0.8, B: 2.4}} {
		got := make([]float64, n)
		if err := ProbNoPurchaseAll(got, m, 13, x, tx, T); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			want, err := ProbNoPurchase(m, 13, x[i], tx[i], T[i])
			if err != nil || math.Float64bits(got[i]) != math.Float64bits(want) || !(want > 0 && want < 1) {
				t.Fatalf("%s customer %d: %v, one by one %v (%v)", m.Name(), i, got[i], want, err)
			}
		}
	}
}

// ExpectedPurchasesAll gives ExpectedPurchases's values, and TotalLogLik
// the sum a loop over the groups makes, bit for bit, on every core.
func TestExpectedPurchasesAllAndTotalLogLik(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 20_000
	x, tx, T := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], T[i] = float64(rng.IntN(9)), float64(5+rng.IntN(60))
		if x[i] > 0 {
			tx[i] = float64(rng.IntN(int(T[i]) + 1))
		}
	}
	groups := CompressRF(x, tx, T)
	for _, m := range []PurchaseModel{ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.6, Beta: 11.7}, BGNBD{R: 0.25, Alpha: 4.4, A: 0.8, B: 2.4},
		MBGNBD{R: 0.5, Alpha: 6, A: 1.2, B: 3}} {
		got := make([]float64, n)
		ExpectedPurchasesAll(got, m, 13, x, tx, T)
		for i := range n {
			if want := m.ExpectedPurchases(13, x[i], tx[i], T[i]); math.Float64bits(got[i]) != math.Float64bits(want) || !(want > 0) {
				t.Fatalf("%s customer %d: %v, one by one %v", m.Name(), i, got[i], want)
			}
		}
		want := 0.0
		for _, g := range groups {
			want += g.Weight * m.LogLikelihood(g.X, g.Tx, g.T)
		}
		if got := TotalLogLik(m, groups); math.Float64bits(got) != math.Float64bits(want) || math.IsNaN(want) {
			t.Errorf("%s: TotalLogLik %v, a loop %v", m.Name(), got, want)
		}
	}
}

// RankDescending orders rows as a stable sort by descending score does,
// on scores with many ties, in runs and at random; continuous, signed,
// ±0 and ±Inf; and with a NaN.
func TestRankDescendingIsStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64}
	for _, n := range []int{0, 1, 2, 17, 511, 512, 1000, 100_000} {
		for _, levels := range []int{1, 3, 1000, 0, -1, -2, -3} {
			p := make([]float64, n)
			for i := range p {
				switch levels {
				case 0: // continuous in (0, 1), as probabilities
					p[i] = rng.Float64()
				case -1: // signed, of every size, with the special values
					p[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
					if rng.IntN(10) == 0 {
						p[i] = special[rng.IntN(len(special))]
					}
				case -3: // one value a bit above the others, which tie
					p[i] = 0.5
					if i == n/3 {
						p[i] = math.Nextafter(0.5, 1)
					}
				case -2: // a NaN among ties: the comparison sort
					p[i] = float64(rng.IntN(5))
					if i == n/2 {
						p[i] = math.NaN()
					}
				default:
					p[i] = float64(rng.IntN(levels)) / float64(levels)
				}
			}
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			if levels == -2 {
				// NaN ties with every value: no order is the stable one;
				// the comparison sort on (value, row) decides, as before.
				slices.SortFunc(want, func(a, b int) int { return cmp.Or(descending(p[a], p[b]), a-b) })
			} else {
				slices.SortStableFunc(want, func(a, b int) int { return descending(p[a], p[b]) })
			}
			if got := RankDescending(p); !slices.Equal(got, want) {
				t.Fatalf("%d rows, %d levels: order differs from the stable sort's", n, levels)
			}
		}
	}
}

// survs8 gives surv's values to the bit, lane by lane, or marks the lane
// rare: Pareto/NBD customers of every size of (A, R, B, s) and times from
// zero to far beyond them, the quotients' logarithms on both sides of √2/2.
func TestSurvs8(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: surv runs one value at a time")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	covered, rare := 0, 0
	for range 20000 {
		q := paretoAlive{A: math.Exp(rng.NormFloat64() * 3), R: math.Exp(rng.NormFloat64() * 2), B: math.Exp(rng.NormFloat64() * 3), s: math.Exp(rng.NormFloat64() * 2)}
		var u, got [8]float64
		for k := range u {
			u[k] = []float64{0, 1e-300, q.A * rng.Float64(), q.B * rng.Float64() * 3, rng.Float64() * 52, math.Exp(rng.NormFloat64() * 8), q.A, 1e300}[k]
		}
		r := survs8(&q, &u, &got)
		for k := range u {
			if r>>k&1 != 0 {
				rare++
				continue
			}
			covered++
			if want := q.surv(u[k]); math.Float64bits(got[k]) != math.Float64bits(want) {
				t.Fatalf("%+v u %v: %v, surv %v", q, u[k], got[k], want)
			}
		}
	}
	if covered < 100000 || rare == 0 {
		t.Fatalf("%d lanes covered, %d rare: the cases should cover both", covered, rare)
	}
}

// integral gives the rule's bits with survs8 and without, surv one value
// at a time, over panels from the tiny ones near 0 to wide ones.
func TestIntegralVectorMatchesScalar(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: one value at a time only")
	}
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	rng := rand.New(rand.NewPCG(23, 24))
	for range 5000 {
		q := paretoAlive{A: math.Exp(rng.NormFloat64() * 2), R: math.Exp(rng.NormFloat64()), B: math.Exp(rng.NormFloat64() * 2), s: math.Exp(rng.NormFloat64())}
		a := math.Ldexp(rng.Float64(), -rng.IntN(48)) * 52
		b := a + math.Ldexp(rng.Float64(), -rng.IntN(10))*52
		h, c := (b-a)/2, (a+b)/2
		want := 0.0 // the rule written out, surv one value at a time
		for i, x := range glNodes {
			u := c + h*x
			want += glWeights[i] * q.s / (q.B + u) * q.surv(u)
		}
		want *= h
		for _, avx := range []bool{true, false} {
			haveAVX512 = avx
			if got := q.integral(a, b); math.Float64bits(got) != math.Float64bits(want) || !(want > 0) {
				t.Fatalf("AVX-512 %v %+v [%v, %v]: %v, one value at a time %v", avx, q, a, b, got, want)
			}
		}
	}
}

// Pareto/NBD's P(no purchase | alive) is panelIntegral's on the integrand
// with surv one value at a time, with survs8 and without.
func TestNoPurchaseIfAliveVector(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: one value at a time only")
	}
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	rng := rand.New(rand.NewPCG(25, 26))
	m := ParetoNBD{R: 0.55, Alpha: 10.6, S: 0.6, Beta: 11.7}
	for range 2000 {
		x, T, h := float64(rng.IntN(40)), rng.Float64()*80, math.Exp(rng.NormFloat64()*2)
		q := m.alive(x, T) // the generic rule, surv one value at a time
		want := q.surv(h) + panelIntegral(func(u float64) float64 { return q.s / (q.B + u) * q.surv(u) }, h)
		for _, avx := range []bool{true, false} {
			haveAVX512 = avx
			if got := m.noPurchaseIfAlive(h, x, T); math.Float64bits(got) != math.Float64bits(want) || !(want > 0 && want <= 1) {
				t.Fatalf("AVX-512 %v x %v T %v t %v: %v, one value at a time %v", avx, x, T, h, got, want)
			}
		}
	}
}
