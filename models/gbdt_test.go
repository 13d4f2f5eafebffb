package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// xorData draws n rows of p features, uniform on [−1, 1], labelled by the
// XOR of the signs of the first two (flipped with probability noise): a
// pure interaction that no linear model can separate.
func xorData(n, p int, noise float64, seed uint64) (X, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X, y = make([]float64, n*p), make([]float64, n)
	for i := range n {
		for j := range p {
			X[i*p+j] = 2*rng.Float64() - 1
		}
		if (X[i*p] > 0) != (X[i*p+1] > 0) {
			y[i] = 1
		}
		if rng.Float64() < noise {
			y[i] = 1 - y[i]
		}
	}
	return X, y
}

func names(p int) []string {
	out := make([]string, p)
	for j := range out {
		out[j] = string(rune('a' + j))
	}
	return out
}

// The GBDT learns the XOR interaction (held-out AUC near the noise
// ceiling); logistic regression on the same features cannot (AUC ≈ 0.5).
func TestGBDTLearnsXOR(t *testing.T) {
	const p = 5
	X, y := xorData(4000, p, 0.05, 1)
	Xt, yt := xorData(2000, p, 0.05, 2)
	Xv, yv := xorData(1000, p, 0.05, 3)
	m, err := FitGBDT(names(p), X, y, Xv, yv, GBDTConfig{Trees: 200, MaxDepth: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	gb := Evaluate(m.PredictAll(Xt), yt).AUC
	lr, err := FitLogit(names(p), X, y, LogitConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lin := Evaluate(lr.PredictAll(Xt), yt).AUC
	t.Logf("held-out AUC: GBDT %.3f (%d trees), logistic regression %.3f", gb, m.BestRound, lin)
	// With 5% label noise the best possible AUC is about 0.95.
	if gb < 0.9 {
		t.Errorf("GBDT AUC %.3f on XOR, want ≥ 0.9", gb)
	}
	if math.Abs(lin-0.5) > 0.05 {
		t.Errorf("logistic regression AUC %.3f on XOR, want ≈ 0.5", lin)
	}
	if m.BestRound < 5 || m.BestRound > 200 || len(m.ValidLogLoss) < m.BestRound {
		t.Errorf("best round %d of %d validation rounds", m.BestRound, len(m.ValidLogLoss))
	}
}

// Early stopping on pure noise stops early and keeps the best round.
func TestGBDTEarlyStopping(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n, p := 2000, 4
	X, y := make([]float64, n*p), make([]float64, n)
	for i := range X {
		X[i] = rng.NormFloat64()
	}
	for i := range y {
		y[i] = float64(rng.IntN(2))
	}
	m, err := FitGBDT(names(p), X[:1500*p], y[:1500], X[1500*p:], y[1500:], GBDTConfig{Trees: 500, EarlyStopping: 10, MaxDepth: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ValidLogLoss) >= 500 || len(m.ValidLogLoss) != m.BestRound+10 {
		t.Errorf("ran %d rounds, kept %d: want a stop 10 rounds after the best", len(m.ValidLogLoss), m.BestRound)
	}
	best := math.Inf(1)
	for _, l := range m.ValidLogLoss[:m.BestRound] {
		best = math.Min(best, l)
	}
	if m.BestRound > 0 && m.ValidLogLoss[m.BestRound-1] != best {
		t.Errorf("kept round %d is not the best validation round", m.BestRound)
	}
}

// Missing values carry information: the learnt default direction uses it.
func TestGBDTMissingValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, p := 3000, 2
	X, y := make([]float64, n*p), make([]float64, n)
	for i := range n {
		X[i*p+1] = rng.NormFloat64()
		if rng.Float64() < 0.3 {
			X[i*p] = math.NaN()
			y[i] = 1
		} else {
			X[i*p] = rng.NormFloat64()
		}
	}
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 20, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	if auc := Evaluate(m.PredictAll(X), y).AUC; auc < 0.99 {
		t.Errorf("AUC %.3f with the label in the missingness, want ≈ 1", auc)
	}
	// A split of "present vs missing" sits at the last bin; it must survive JSON.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("model with a present/missing split: %v", err)
	}
	var back GBDT
	if err := json.Unmarshal(b, &back); err != nil || back.Predict([]float64{math.NaN(), 0}) != m.Predict([]float64{math.NaN(), 0}) {
		t.Errorf("JSON round trip: %v", err)
	}
	if m.Predict([]float64{math.NaN(), 0}) < 0.9 || m.Predict([]float64{0.5, 0}) > 0.1 {
		t.Errorf("P(missing) = %.3f, P(present) = %.3f", m.Predict([]float64{math.NaN(), 0}), m.Predict([]float64{0.5, 0}))
	}
}

// The same data, config and seed give the same model, byte for byte, with
// subsampling on; another seed gives another model. Leaf-wise growth too.
func TestGBDTDeterministic(t *testing.T) {
	X, y := xorData(3000, 6, 0.1, 9)
	fit := func(seed uint64, leaves int) []byte {
		m, err := FitGBDT(names(6), X, y, nil, nil, GBDTConfig{Trees: 30, Subsample: 0.7, ColSample: 0.8, Seed: seed, MaxLeaves: leaves})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		return b
	}
	a, b, c := fit(1, 0), fit(1, 0), fit(2, 0)
	if string(a) != string(b) {
		t.Error("two fits with the same seed differ")
	}
	if string(a) == string(c) {
		t.Error("fits with different seeds are identical")
	}
	if l1, l2 := fit(1, 12), fit(1, 12); string(l1) != string(l2) {
		t.Error("leaf-wise fits with the same seed differ")
	}
	// Nor does the number of cores change it: sums are integer or in a
	// fixed order.
	// (Enough rows for the parallel histograms and partitions.)
	big, ybig := xorData(60000, 6, 0.1, 10)
	fitBig := func() []byte {
		m, err := FitGBDT(names(6), big, ybig, nil, nil, GBDTConfig{Trees: 8, Subsample: 0.9, Seed: 3, MaxLeaves: 31})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		return b
	}
	prev := runtime.GOMAXPROCS(1)
	one := fitBig()
	runtime.GOMAXPROCS(4)
	four := fitBig()
	runtime.GOMAXPROCS(prev)
	if string(one) != string(four) {
		t.Error("fits on 1 and 4 cores differ")
	}
}

// Leaf-wise growth stops at MaxLeaves leaves per tree.
func TestGBDTMaxLeaves(t *testing.T) {
	X, y := xorData(2000, 4, 0.05, 4)
	m, err := FitGBDT(names(4), X, y, nil, nil, GBDTConfig{Trees: 10, MaxLeaves: 5, MinChildWeight: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	for k, tr := range m.Trees {
		leaves := 0
		for _, nd := range tr.Nodes {
			if nd.Left < 0 {
				leaves++
			}
		}
		if leaves > 5 || leaves < 2 {
			t.Errorf("tree %d has %d leaves, want 2..5", k, leaves)
		}
	}
}

// TreeSHAP: the contributions add up to the margin, and they equal the
// exact Shapley values of the path-dependent value function computed by
// enumerating every coalition.
func TestTreeSHAP(t *testing.T) {
	const p = 4
	X, y := xorData(1500, p, 0.1, 11)
	for i := 0; i < len(y); i += 7 {
		X[i*p+2] = math.NaN() // exercise the missing branches too
	}
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 5, MaxDepth: 4, Subsample: 0.8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	phi := make([]float64, p)
	for i := range 40 {
		x := X[i*p : (i+1)*p]
		e := m.Contributions(phi, x)
		sum := e
		for _, v := range phi {
			sum += v
		}
		if math.Abs(sum-m.Margin(x)) > 1e-9 {
			t.Fatalf("row %d: E[f] + Σφ = %.12f, margin %.12f", i, sum, m.Margin(x))
		}
		want := bruteShapley(m, x)
		for j := range p {
			if math.Abs(phi[j]-want[j]) > 1e-9 {
				t.Errorf("row %d feature %d: TreeSHAP %.12f, exact %.12f", i, j, phi[j], want[j])
			}
		}
	}
}

// bruteShapley computes Shapley values by enumerating coalitions, with
// v(S) = Σ_trees E[tree | x_S] where features outside S are averaged over
// the node covers (the path-dependent expectation TreeSHAP uses).
func bruteShapley(m *GBDT, x []float64) []float64 {
	p := len(x)
	var cond func(t *Tree, k int, in uint) float64
	cond = func(t *Tree, k int, in uint) float64 {
		nd := &t.Nodes[k]
		if nd.Left < 0 {
			return nd.Value
		}
		if in&(1<<nd.Feature) != 0 {
			if v := x[nd.Feature]; math.IsNaN(v) && nd.MissingLeft || v <= nd.Threshold {
				return cond(t, nd.Left, in)
			}
			return cond(t, nd.Right, in)
		}
		l, r := &t.Nodes[nd.Left], &t.Nodes[nd.Right]
		return (l.Cover*cond(t, nd.Left, in) + r.Cover*cond(t, nd.Right, in)) / (l.Cover + r.Cover)
	}
	v := func(in uint) float64 {
		s := 0.0
		for k := range m.Trees {
			s += cond(&m.Trees[k], 0, in)
		}
		return s
	}
	fact := func(n int) float64 {
		f := 1.0
		for i := 2; i <= n; i++ {
			f *= float64(i)
		}
		return f
	}
	phi := make([]float64, p)
	for j := range p {
		for s := uint(0); s < 1<<p; s++ {
			if s&(1<<j) != 0 {
				continue
			}
			size := 0
			for b := range p {
				if s&(1<<b) != 0 {
					size++
				}
			}
			w := fact(size) * fact(p-size-1) / fact(p)
			phi[j] += w * (v(s|1<<j) - v(s))
		}
	}
	return phi
}

// Platt scaling repairs a miscalibrated score: probabilities squashed
// towards ½ get an expected calibration error near the sampling noise.
func TestPlatt(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n := 20000
	p, y := make([]float64, n), make([]float64, n)
	for i := range n {
		s := 3 * rng.NormFloat64()
		if rng.Float64() < sigmoid(s) {
			y[i] = 1
		}
		p[i] = sigmoid(s / 3) // overconfident-in-reverse: squashed scores
	}
	before := Evaluate(p, y).ECE
	c, err := FitPlatt(p, y)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float64, n)
	for i := range p {
		q[i] = c.Apply(p[i])
	}
	after := Evaluate(q, y).ECE
	if math.Abs(c.A-3) > 0.2 || math.Abs(c.B) > 0.1 || after > 0.02 || before < 0.1 {
		t.Errorf("A %.3f (want 3), B %.3f (want 0); ECE %.3f → %.3f", c.A, c.B, before, after)
	}
	if _, err := FitPlatt([]float64{0.5}, []float64{1}); err == nil {
		t.Error("one class: want an error")
	}
}

// The golearn challenger: bagged CART trees learn the XOR too (less well
// than our GBDT), deterministically for a seed, and survive a JSON round
// trip with the same scores.
func TestGolearnForest(t *testing.T) {
	const p = 4
	X, y := xorData(3000, p, 0.05, 21)
	Xt, yt := xorData(1000, p, 0.05, 22)
	X[5] = math.NaN()
	f, err := FitGolearn(names(p), X, y, GolearnConfig{Trees: 5, MaxDepth: 4, SampleRows: 2000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	pt := f.PredictAll(Xt)
	if auc := Evaluate(pt, yt).AUC; auc < 0.8 {
		t.Errorf("golearn AUC %.3f on XOR, want ≥ 0.8", auc)
	}
	g, _ := FitGolearn(names(p), X, y, GolearnConfig{Trees: 5, MaxDepth: 4, SampleRows: 2000, Seed: 3})
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(g)
	if string(a) != string(b) {
		t.Error("two fits with the same seed differ")
	}
	var back GolearnForest
	if err := json.Unmarshal(a, &back); err != nil {
		t.Fatal(err)
	}
	for i, v := range back.PredictAll(Xt) {
		if v != pt[i] {
			t.Fatalf("row %d: %v after the JSON round trip, %v before", i, v, pt[i])
		}
	}
	if q := f.Predict(Xt[:p]); q != pt[0] {
		t.Errorf("Predict %v, PredictAll %v", q, pt[0])
	}
}

// FitGBDTHeldOut gives the model FitGBDT gives on the rows copied out:
// training rows and held-out ones in their order, NaNs included, and with a
// +Inf among the held-out values (their bins are then not used).
func TestGBDTHeldOutMatchesCopies(t *testing.T) {
	const n, p = 5000, 5
	X, y := xorData(n, p, 0.1, 9)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range X {
		if rng.IntN(20) == 0 {
			X[i] = math.NaN()
		}
	}
	held := make([]bool, n)
	for i := range held {
		held[i] = rng.IntN(5) == 0
	}
	cfg := GBDTConfig{Trees: 60, MaxLeaves: 15, Subsample: 0.8, ColSample: 0.8, EarlyStopping: 5, Seed: 4}
	for _, inf := range []bool{false, true} {
		if inf {
			X[slices.Index(held, true)*p+2] = math.Inf(1)
		}
		var Xin, yin, Xout, yout []float64
		for i, h := range held {
			if h {
				Xout, yout = append(Xout, X[i*p:(i+1)*p]...), append(yout, y[i])
			} else {
				Xin, yin = append(Xin, X[i*p:(i+1)*p]...), append(yin, y[i])
			}
		}
		want, err := FitGBDT(names(p), Xin, yin, Xout, yout, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FitGBDTHeldOut(names(p), X, y, held, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if string(wj) != string(gj) {
			t.Errorf("+Inf held out %v: the held-out fit differs from the fit on copies", inf)
		}
		if got.BestRound == 0 || len(got.ValidLogLoss) == 0 || got.BestRound == cfg.Trees {
			t.Errorf("+Inf held out %v: best round %d of %d validation losses: early stopping did not run", inf, got.BestRound, len(got.ValidLogLoss))
		}
	}
	if _, err := FitGBDTHeldOut(names(p), X, y, held[1:], cfg); err == nil {
		t.Error("want an error for a held-out flag short of the rows")
	}
	all := make([]bool, n)
	for i := range all {
		all[i] = true
	}
	if _, err := FitGBDTHeldOut(names(p), X, y, all, cfg); err == nil {
		t.Error("want an error when every row is held out")
	}
}
