package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Data simulated from a known logistic model; with a tiny penalty the MLE
// must recover the coefficients within sampling error (n = 20000: se ≈ 0.03).
func TestLogitRecoversCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n, p = 20000, 3
	trueW := []float64{1.5, -2.0, 0.0}
	trueB := -0.5
	X := make([]float64, n*p)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := trueB
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			X[i*p+j] = 3 + 2*v // mean 3, sd 2: standardisation must undo this
			s += trueW[j] * v
		}
		if rng.Float64() < 1/(1+math.Exp(-s)) {
			y[i] = 1
		}
	}
	m, err := FitLogit([]string{"a", "b", "c"}, X, y, LogitConfig{Lambda: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	for j := range trueW {
		// Coef is per standard deviation of x; x's sd is 2 and v's is 1, so Coef ≈ trueW.
		if math.Abs(m.Coef[j]-trueW[j]) > 0.1 {
			t.Errorf("coef[%d] = %.3f, want %.3f ± 0.1", j, m.Coef[j], trueW[j])
		}
	}
	if math.Abs(m.Intercept-trueB) > 0.1 {
		t.Errorf("intercept = %.3f, want %.3f ± 0.1", m.Intercept, trueB)
	}
	met := Evaluate(m.PredictAll(X), y)
	if met.AUC < 0.85 {
		t.Errorf("in-sample AUC = %.3f, want > 0.85 for this signal", met.AUC)
	}
}

func TestLogitOneClass(t *testing.T) {
	if _, err := FitLogit([]string{"a"}, []float64{1, 2}, []float64{1, 1}, LogitConfig{}); err == nil {
		t.Fatal("want an error for single-class labels")
	}
}

func TestLogitImputesNaN(t *testing.T) {
	m := &Logit{Mean: []float64{5}, SD: []float64{2}, Coef: []float64{3}, Intercept: 0.25}
	if got, want := m.Predict([]float64{math.NaN()}), 1/(1+math.Exp(-0.25)); math.Abs(got-want) > 1e-12 {
		t.Errorf("Predict(NaN) = %v, want %v (mean imputation)", got, want)
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name       string
		p, y       []float64
		auc, prauc float64
		brier      float64
	}{
		{"perfect", []float64{0.9, 0.8, 0.2, 0.1}, []float64{1, 1, 0, 0}, 1, 1, (0.01 + 0.04 + 0.04 + 0.01) / 4},
		{"inverted", []float64{0.1, 0.2, 0.8, 0.9}, []float64{1, 1, 0, 0}, 0, 0.5 * (1.0/3 + 2.0/4), (0.81 + 0.64 + 0.64 + 0.81) / 4},
		// All tied: AUC 0.5 by mid-ranks; AP = positive rate.
		{"ties", []float64{0.5, 0.5, 0.5, 0.5}, []float64{1, 0, 1, 0}, 0.5, 0.5, 0.25},
		// Hand-counted: pairs (pos>neg) = 3 of 4 → 0.75.
		{"mixed", []float64{0.9, 0.7, 0.6, 0.3}, []float64{1, 0, 1, 0}, 0.75, 0.5 * (1 + 2.0/3), (0.01 + 0.49 + 0.16 + 0.09) / 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Evaluate(tc.p, tc.y)
			near(t, "auc", m.AUC, tc.auc, 1e-12)
			near(t, "prauc", m.PRAUC, tc.prauc, 1e-12)
			near(t, "brier", m.Brier, tc.brier, 1e-12)
		})
	}
}

// Lift, capture and calibration on a hand-counted example: 20 scores,
// 5 positives; the top 5% (1 row) and 10% (2 rows) are positives, the top
// 20% (4 rows) holds 3.
func TestEvaluateLiftCaptureCalibration(t *testing.T) {
	p := make([]float64, 20)
	y := make([]float64, 20)
	for i := range p {
		p[i] = 0.96 - float64(i)*0.05 // 0.96, 0.91, … : one score per bin pair
	}
	for _, i := range []int{0, 1, 3, 6, 12} {
		y[i] = 1
	}
	m := Evaluate(p, y)
	for q, want := range [3][2]float64{{4, 0.2}, {4, 0.4}, {3, 0.6}} { // lift = rate / 0.25
		near(t, "lift", m.Lift[q], want[0], 1e-12)
		near(t, "capture", m.Capture[q], want[1], 1e-12)
	}
	// ECE by hand: bins of 0.1 hold two scores each (0.96 and 0.91 in the
	// top bin, …): Σ_b |Σ p − Σ y| / 20.
	want := 0.0
	for b := range 10 {
		var sp, sy float64
		for i := range p {
			if min(9, int(p[i]*10)) == b {
				sp += p[i]
				sy += y[i]
			}
		}
		want += math.Abs(sp-sy) / 20
	}
	near(t, "ece", m.ECE, want, 1e-12)
	if r := m.Reliability[9]; r.N != 2 || math.Abs(r.Observed-1) > 1e-12 || math.Abs(r.MeanScore-0.935) > 1e-12 {
		t.Errorf("top reliability bin %+v", r)
	}
	// Gains: positives at ranks 0, 1, 3, 6, 12 of 20 → deciles of 2 rows
	// capture 2, 3, 4, 4, 4, 4, 5, … of 5.
	for d, want := range [10]float64{0.4, 0.6, 0.6, 0.8, 0.8, 0.8, 1, 1, 1, 1} {
		near(t, "gains", m.Gains[d], want, 1e-12)
	}
}

// Four rows at a time, and eight in AVX-512 lanes where the CPU has them,
// give the loss and gradient of one row at a time, to the bit (every
// width of the last column tile, row counts around the blocks).
func TestLogitLossGradBlocked(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	kernels := []bool{false}
	if haveAVX512 {
		kernels = append(kernels, true)
	} else {
		t.Log("no AVX-512 here: only the Go kernel is tested")
	}
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	cases := []struct{ n, p int }{{0, 3}, {3, 5}, {4, 1}, {1027, 63}, {8195, 30}, {17, 8}, {16, 16}}
	for p := 1; p <= 17; p++ {
		cases = append(cases, struct{ n, p int }{7 + 2*p, p})
	}
	for _, c := range cases {
		Z, y, w := make([]float64, c.n*c.p), make([]float64, c.n), make([]float64, c.p)
		for i := range Z {
			Z[i] = rng.NormFloat64() * 3
		}
		for i := range y {
			y[i] = float64(rng.IntN(2))
		}
		for j := range w {
			w[j] = rng.NormFloat64()
		}
		gRef := make([]float64, c.p+1)
		lRef := logitRowLossGrad(Z, y, w, 0.3, 0, c.n, gRef, 0)
		for _, avx := range kernels {
			haveAVX512 = avx
			gFast := make([]float64, c.p+1)
			lFast := logitLossGrad(Z, y, w, 0.3, 0, c.n, gFast)
			if math.Float64bits(lFast) != math.Float64bits(lRef) {
				t.Fatalf("AVX-512 %v n=%d p=%d: loss %v vs %v", avx, c.n, c.p, lFast, lRef)
			}
			for j := range gFast {
				if math.Float64bits(gFast[j]) != math.Float64bits(gRef[j]) {
					t.Fatalf("AVX-512 %v n=%d p=%d: gradient %d %v vs %v", avx, c.n, c.p, j, gFast[j], gRef[j])
				}
			}
		}
		if c.n > 0 && lRef == 0 {
			t.Fatal("no loss")
		}
	}
}

// logitTerms8 gives logitTerm's loss and residual to the bit, lane by lane,
// or marks the lane rare: margins of every size, both labels, zeros,
// infinities, NaN, and values around the thresholds of exp and log1p.
func TestLogitTerms8(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: logitTerm runs row by row")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	special := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 5e-324, 1e-17, -1e-17, 1.1e-16, -1.1e-16, 2.2e-16, 1e-9,
		0.8813735870195430, -0.8813735870195430, 0.88137358701954, 0.881373587019544, 20.101, -20.101, 20.1, 37.43, -37.43, 37.4,
		700, -700, 708.3, -708.3, 708.4, -708.4, 709.8, 745.2, -745.2, 746, 1e10, -1e10, 3e9, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 1, -1, 0.5, -0.5, 2, -2}
	for m := 1; m <= 48; m++ { // e within a few ulps of 1: u = 1+e just below 2
		special = append(special, float64(m)*0x1p-54, -float64(m)*0x1p-54)
	}
	var s, y, loss, r [8]float64
	lanes, redone := 0, 0
	check := func() {
		rare := logitTerms8(&s, &y, &loss, &r)
		for k := range 8 {
			wl, wr := logitTerm(s[k], y[k])
			lanes++
			if rare>>k&1 != 0 {
				redone++
				continue
			}
			if math.Float64bits(loss[k]) != math.Float64bits(wl) || math.Float64bits(r[k]) != math.Float64bits(wr) {
				t.Fatalf("s=%v (%#x) y=%v: loss %v r %v, logitTerm %v %v", s[k], math.Float64bits(s[k]), y[k], loss[k], r[k], wl, wr)
			}
		}
	}
	rares := 0
	for i := 0; i < len(special); i += 8 {
		for k := range 8 {
			s[k], y[k] = special[(i+k)%len(special)], float64(k%2)
		}
		rare := logitTerms8(&s, &y, &loss, &r)
		for k := range 8 {
			if rare>>k&1 != 0 {
				rares++
			}
		}
		check()
	}
	if rares == 0 {
		t.Fatal("no special value was left to logitTerm")
	}
	scales := []float64{1e-12, 1e-6, 1e-3, 0.1, 0.5, 1, 3, 10, 30, 100, 800}
	lanes, redone = 0, 0
	for range 200_000 {
		sc := scales[rng.IntN(len(scales))]
		for k := range 8 {
			s[k], y[k] = rng.NormFloat64()*sc, float64(rng.IntN(2))
		}
		check()
	}
	// Only margins beyond ±708 (one scale in eleven, about a third of its
	// draws) are left to logitTerm.
	if redone > lanes/20 {
		t.Fatalf("%d of %d random lanes left to logitTerm", redone, lanes)
	}
	// e = exp(−|s|) just around √2−1, 2⁻²⁹, 2⁻⁵⁴ and 1.
	for _, e := range []float64{math.Sqrt2 - 1, 0x1p-29, 0x1p-54, 1} {
		x := -math.Log(e)
		for d := -200; d < 200; d += 8 {
			for k := range 8 {
				v := x
				for range d + k + 200 {
					v = math.Nextafter(v, math.Inf(1))
				}
				for range 200 {
					v = math.Nextafter(v, math.Inf(-1))
				}
				s[k], y[k] = v, float64(k%2)
			}
			check()
		}
	}
}

// sigmoid8 gives 1/(1 + math.Exp(−m)) to the bit, lane by lane, or marks
// the lane rare: margins of every size, zeros, infinities, NaN, and values
// around exp's overflow and underflow.
func TestSigmoid8(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: the gradients run row by row")
	}
	special := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 5e-324, 1e-17, -1e-17, 1, -1, 0.5, -0.5, 36.7, -36.7,
		700, -700, 708.3, -708.3, 708.4, -708.4, 709.78, -709.78, 709.7827128933840, -709.7827128933840, 709.79, -709.79,
		745.13, -745.13, 745.2, -745.2, 746, -746, 1e10, -1e10, 3e9, -3e9, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN()}
	for _, v := range []float64{708.3964185322641, 709.089565712824, 709.782712893384} { // n·ln 2 where n+1023 turns over
		for _, d := range []float64{-2, -1, 0, 1, 2} {
			u := v
			for range int(math.Abs(d)) {
				u = math.Nextafter(u, math.Copysign(math.Inf(1), d))
			}
			special = append(special, u, -u)
		}
	}
	var m, q [8]float64
	rares, fast := 0, 0
	check := func() {
		rare := sigmoid8(&m, &q)
		for k := range 8 {
			if rare>>k&1 != 0 {
				rares++
				continue
			}
			fast++
			if want := 1 / (1 + math.Exp(-m[k])); math.Float64bits(q[k]) != math.Float64bits(want) {
				t.Fatalf("m=%v (%#x): %v, 1/(1+exp(−m)) %v", m[k], math.Float64bits(m[k]), q[k], want)
			}
		}
	}
	for i := 0; i < len(special); i += 8 {
		for k := range 8 {
			m[k] = special[(i+k)%len(special)]
		}
		check()
	}
	if rares == 0 {
		t.Fatal("no special value was left to math.Exp")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	scales := []float64{1e-12, 1e-3, 0.1, 1, 3, 10, 30, 100, 700, 800}
	for range 100_000 {
		sc := scales[rng.IntN(len(scales))]
		for k := range 8 {
			m[k] = rng.NormFloat64() * sc
		}
		check()
	}
	if fast < 700_000 {
		t.Errorf("only %d of %d lanes on the vector path", fast, fast+rares)
	}
}

// The standardised rows in chunks give the loss and gradient of one matrix
// summed a logitChunk of rows at a time, to the bit: rows standardised as
// standardise does, the kernels' blocks where they fall over the whole.
func TestLogitChunksMatchOneMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 8191, logitChunk, 2*logitChunk + 77} {
		const p = 11
		X, y, w := make([]float64, n*p), make([]float64, n), make([]float64, p)
		for i := range X {
			X[i] = rng.NormFloat64()*2 + 1
			if rng.IntN(9) == 0 {
				X[i] = math.NaN()
			}
		}
		for i := range y {
			y[i] = float64(rng.IntN(2))
		}
		for j := range w {
			w[j] = rng.NormFloat64()
		}
		m := &Logit{}
		m.Mean, m.SD = standardiser(X, n, p)
		Z, free := m.standardisedChunks(X, n)
		defer free()
		if len(Z) != (n+logitChunk-1)/logitChunk {
			t.Fatalf("n=%d: %d chunks", n, len(Z))
		}
		whole := make([]float64, n*p)
		for i := range n {
			m.standardise(whole[i*p:(i+1)*p], X[i*p:(i+1)*p])
		}
		if got := slices.Concat(Z...); !slices.Equal(got, whole) {
			t.Fatalf("n=%d: the chunks are not the standardised rows", n)
		}
		g, gRef := make([]float64, p+1), make([]float64, p+1)
		l := chunkLossGrad(Z, y, w, -0.2, g)
		lRef := chunkedSum(n, logitChunk, p+1, gRef, func(lo, hi int, gc []float64) float64 {
			return logitLossGrad(whole, y, w, -0.2, lo, hi, gc)
		})
		if math.Float64bits(l) != math.Float64bits(lRef) || l <= 0 {
			t.Fatalf("n=%d: loss %v, one matrix %v", n, l, lRef)
		}
		for j := range g {
			if math.Float64bits(g[j]) != math.Float64bits(gRef[j]) {
				t.Fatalf("n=%d: gradient %d %v, one matrix %v", n, j, g[j], gRef[j])
			}
		}
	}
}
