package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Conformance: every model recovers the parameters it was simulated with.
// Tolerance: |ln θ̂ − ln θ| < 4 standard errors from the observed information
// (a 4-sigma band fails by chance with probability < 1e-4 per parameter), so
// the test adapts to how well each sample identifies each parameter.

func gammaDraw(rng *rand.Rand, k, scale float64) float64 {
	if k < 1 {
		return gammaDraw(rng, k+1, scale) * math.Pow(rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := rng.Float64(); math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * scale
		}
	}
}

func betaDraw(rng *rand.Rand, a, b float64) float64 {
	x, y := gammaDraw(rng, a, 1), gammaDraw(rng, b, 1)
	return x / (x + y)
}

// simulateBG draws BG/NBD (modified=false) or MBG/NBD customers observed for
// T ~ U(20, 60) time units after their first purchase at 0.
func simulateBG(rng *rand.Rand, n int, r, alpha, a, b float64, modified bool) (x, tx, T []float64) {
	return simulateBGObs(rng, n, r, alpha, a, b, modified, func() float64 { return 20 + 40*rng.Float64() })
}

// simulateBGObs is simulateBG with observation lengths from obs.
func simulateBGObs(rng *rand.Rand, n int, r, alpha, a, b float64, modified bool, obs func() float64) (x, tx, T []float64) {
	for range n {
		lam := gammaDraw(rng, r, 1/alpha)
		p := betaDraw(rng, a, b)
		end := obs()
		alive := !(modified && rng.Float64() < p)
		t, cnt, last := 0.0, 0.0, 0.0
		for alive {
			t += rng.ExpFloat64() / lam
			if t > end {
				break
			}
			cnt, last = cnt+1, t
			alive = rng.Float64() >= p
		}
		x, tx, T = append(x, cnt), append(tx, last), append(T, end)
	}
	return
}

func simulatePareto(rng *rand.Rand, n int, r, alpha, s, beta float64) (x, tx, T []float64) {
	for range n {
		lam := gammaDraw(rng, r, 1/alpha)
		mu := gammaDraw(rng, s, 1/beta)
		obs := 20 + 40*rng.Float64()
		end := math.Min(obs, rng.ExpFloat64()/mu)
		t, cnt, last := 0.0, 0.0, 0.0
		for {
			t += rng.ExpFloat64() / lam
			if t > end {
				break
			}
			cnt, last = cnt+1, t
		}
		x, tx, T = append(x, cnt), append(tx, last), append(T, obs)
	}
	return
}

func simulateBGBB(rng *rand.Rand, n int, al, be, ga, de float64, opps int) (x, tx, T []float64) {
	for range n {
		p, theta := betaDraw(rng, al, be), betaDraw(rng, ga, de)
		cnt, last := 0.0, 0.0
		for j := 1; j <= opps; j++ {
			if rng.Float64() < theta {
				break
			}
			if rng.Float64() < p {
				cnt, last = cnt+1, float64(j)
			}
		}
		x, tx, T = append(x, cnt), append(tx, last), append(T, float64(opps))
	}
	return
}

func checkRecovery(t *testing.T, m PurchaseModel, groups []RFGroup, truth []float64) {
	t.Helper()
	u, err := PurchaseUncertainty(m, groups)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range m.ParamNames() {
		z := (math.Log(m.ParamValues()[i]) - math.Log(truth[i])) / u.LogSE[i]
		if math.Abs(z) > 4 || math.IsNaN(z) {
			t.Errorf("%s %s = %.4f, true %.4f: %.1f standard errors off (se of ln = %.4f)", m.Name(), name, m.ParamValues()[i], truth[i], z, u.LogSE[i])
		}
		if !(u.Lower[i] < m.ParamValues()[i] && m.ParamValues()[i] < u.Upper[i]) {
			t.Errorf("%s %s: interval [%v, %v] does not contain the estimate", m.Name(), name, u.Lower[i], u.Upper[i])
		}
	}
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation study")
	}
	rng := rand.New(rand.NewPCG(2024, 1))
	t.Run("bgnbd", func(t *testing.T) {
		truth := []float64{0.8, 6, 0.9, 2.5}
		x, tx, T := simulateBG(rng, 20000, truth[0], truth[1], truth[2], truth[3], false)
		g := CompressRF(x, tx, T)
		m, err := FitBGNBD(g)
		if err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, m, g, truth)
	})
	t.Run("mbgnbd", func(t *testing.T) {
		truth := []float64{0.8, 6, 0.9, 2.5}
		x, tx, T := simulateBG(rng, 20000, truth[0], truth[1], truth[2], truth[3], true)
		g := CompressRF(x, tx, T)
		m, err := FitMBGNBD(g)
		if err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, m, g, truth)
	})
	t.Run("pareto-nbd", func(t *testing.T) {
		truth := []float64{0.7, 8, 0.8, 15}
		x, tx, T := simulatePareto(rng, 8000, truth[0], truth[1], truth[2], truth[3])
		g := CompressRF(x, tx, T)
		m, err := FitParetoNBD(g)
		if err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, m, g, truth)
	})
	t.Run("bgbb", func(t *testing.T) {
		truth := []float64{1.2, 0.75, 0.66, 2.78} // the donation-data estimates of FHS (2010)
		x, tx, T := simulateBGBB(rng, 20000, truth[0], truth[1], truth[2], truth[3], 6)
		g := CompressRF(x, tx, T)
		m, err := FitBGBB(g)
		if err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, m, g, truth)
	})
	t.Run("gamma-gamma", func(t *testing.T) {
		p, q, gm := 6.0, 3.7, 15.0
		var xs, ms []float64
		for range 5000 {
			nu := gammaDraw(rng, q, 1/gm)
			n := 1 + rng.IntN(8)
			s := 0.0
			for range n {
				s += gammaDraw(rng, p, 1/nu)
			}
			xs, ms = append(xs, float64(n)), append(ms, s/float64(n))
		}
		m, err := FitGammaGamma(xs, ms)
		if err != nil {
			t.Fatal(err)
		}
		u, err := SpendUncertainty(m, xs, ms)
		if err != nil {
			t.Fatal(err)
		}
		for i, truth := range []float64{p, q, gm} {
			if z := (math.Log(u.Values[i]) - math.Log(truth)) / u.LogSE[i]; math.Abs(z) > 4 {
				t.Errorf("gamma-gamma %s = %.4f, true %.4f: %.1f se off", u.Names[i], u.Values[i], truth, z)
			}
		}
	})
}

// E[X(t)] of a new customer agrees with the mean count of customers
// simulated from the model over t (within 4 standard errors of that mean).
func TestPopulationExpectationBySimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 7))
	const n, horizon = 40000, 40.0
	check := func(m PurchaseModel, x []float64) {
		t.Helper()
		var s, ss float64
		for _, v := range x {
			s += v
			ss += v * v
		}
		mean := s / n
		se := math.Sqrt((ss/n - mean*mean) / n)
		if got := m.ExpectedPurchasesPopulation(horizon); math.Abs(got-mean) > 4*se {
			t.Errorf("%s E[X(%v)] = %.4f, simulated mean %.4f ± %.4f", m.Name(), horizon, got, mean, se)
		}
	}
	fixedT := func(sim func() (x, tx, T []float64)) []float64 { x, _, _ := sim(); return x }
	bg := BGNBD{R: 0.8, Alpha: 6, A: 0.9, B: 2.5}
	check(bg, fixedT(func() (a, b, c []float64) { return simulateBGFixed(rng, n, bg.R, bg.Alpha, bg.A, bg.B, false, horizon) }))
	mbg := MBGNBD{R: 0.8, Alpha: 6, A: 0.9, B: 2.5}
	check(mbg, fixedT(func() (a, b, c []float64) {
		return simulateBGFixed(rng, n, mbg.R, mbg.Alpha, mbg.A, mbg.B, true, horizon)
	}))
	pn := ParetoNBD{R: 0.7, Alpha: 8, S: 0.8, Beta: 15}
	var px []float64
	for range n {
		lam, mu := gammaDraw(rng, pn.R, 1/pn.Alpha), gammaDraw(rng, pn.S, 1/pn.Beta)
		end, tt, c := math.Min(horizon, rng.ExpFloat64()/mu), 0.0, 0.0
		for {
			if tt += rng.ExpFloat64() / lam; tt > end {
				break
			}
			c++
		}
		px = append(px, c)
	}
	check(pn, px)
}

// simulateBGFixed is simulateBG with every customer observed for exactly obs.
func simulateBGFixed(rng *rand.Rand, n int, r, alpha, a, b float64, modified bool, obs float64) (x, tx, T []float64) {
	return simulateBGObs(rng, n, r, alpha, a, b, modified, func() float64 { return obs })
}
