package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// lowerBound on order keys agrees with slices.BinarySearch on the floats,
// negative, zero and positive.
func TestLowerBoundMatchesBinarySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		th := make([]float64, n)
		for i := range th {
			th[i] = float64(rng.IntN(50))
		}
		slices.Sort(th)
		th = slices.Compact(th)
		keys := make([]uint64, len(th))
		for i, v := range th {
			keys[i] = sortKey(v - 25)
		}
		for v := -1.0; v < 52; v += 0.5 {
			want, _ := slices.BinarySearch(th, v)
			if got := lowerBound(keys, sortKey(v-25)); got != want {
				t.Fatalf("lowerBound(%v, %v) = %d, want %d", th, v, got, want)
			}
		}
	}
}

// Packed quantized gradients: sums of many rows unpack to the sums of
// their parts (negative g included), at the largest levels the row count
// allows, and the stochastic rounding is unbiased.
func TestQuantizedGradients(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(3, 4))
	g, h, margin, y := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range margin {
		margin[i] = 12*rng.Float64() - 6
		if rng.Float64() < 0.5 {
			y[i] = 1
		}
	}
	packed := make([]int64, n)
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	sc := gradients(packed, g, h, margin, y, all, 7, 0)
	var sum int64
	var G, H, gq, hq float64
	for i, v := range packed {
		sum += v
		a, b := unpack(v)
		if b < 0 || float64(a) < g[i]/sc.g-1 || float64(a) > g[i]/sc.g+1 || float64(b) > h[i]/sc.h+1 {
			t.Fatalf("row %d: g %v h %v packed to %d, %d", i, g[i], h[i], a, b)
		}
		G, H, gq, hq = G+g[i], H+h[i], gq+float64(a), hq+float64(b)
	}
	sg, sh := unpack(sum)
	if float64(sg) != gq || float64(sh) != hq {
		t.Fatalf("packed sum unpacks to %d, %d; parts sum to %v, %v", sg, sh, gq, hq)
	}
	// Unbiased: the error of the sum is a random walk, a few √n levels.
	if d := math.Abs(float64(sg)*sc.g - G); d > 5*math.Sqrt(n)*sc.g {
		t.Errorf("G %v, quantized %v", G, float64(sg)*sc.g)
	}
	if d := math.Abs(float64(sh)*sc.h - H); d > 5*math.Sqrt(n)*sc.h {
		t.Errorf("H %v, quantized %v", H, float64(sh)*sc.h)
	}

	// A round's sample: only its rows are set, at the scale of its size.
	var some []int32
	for i := 0; i < n; i += 3 {
		some = append(some, int32(i))
	}
	for i := range packed {
		packed[i], g[i], h[i] = -1, 9, 9
	}
	sc = gradients(packed, g, h, margin, y, some, 7, 0)
	if want := 1 / float64(min(1<<14, (1<<31-1)/len(some))); sc.g != want {
		t.Errorf("scale %v, want %v", sc.g, want)
	}
	for i := range packed {
		a, _ := unpack(packed[i])
		switch set := i%3 == 0; {
		case set && (g[i] == 9 || float64(a) < g[i]/sc.g-1 || float64(a) > g[i]/sc.g+1):
			t.Fatalf("sampled row %d: g %v packed %d", i, g[i], a)
		case !set && (packed[i] != -1 || g[i] != 9 || h[i] != 9):
			t.Fatalf("row %d, not in the sample, was set", i)
		}
	}
}

// PredictAll (integer codes, eight rows in lockstep) agrees exactly with
// Predict (the trees' float thresholds) on values at and around every
// threshold, missing values, infinities and −0, for any row count.
func TestPredictAllMatchesPredict(t *testing.T) {
	const p = 4
	X, y := xorData(3000, p, 0.1, 1)
	for i := 0; i < len(X); i += 7 {
		X[i] = math.NaN() // missing values, learnt directions
	}
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 30, MaxDepth: 5})
	if err != nil {
		t.Fatal(err)
	}
	var rows [][p]float64
	for _, tr := range m.Trees {
		for _, nd := range tr.Nodes {
			if nd.Left < 0 {
				continue
			}
			for _, v := range []float64{nd.Threshold, math.Nextafter(nd.Threshold, math.Inf(1)), math.Nextafter(nd.Threshold, math.Inf(-1))} {
				var r [p]float64
				for j := range r {
					r[j] = X[(len(rows)%3000)*p+j]
				}
				r[nd.Feature] = v
				rows = append(rows, r)
			}
		}
	}
	for _, special := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0} {
		for j := range p {
			var r [p]float64
			r[j] = special
			rows = append(rows, r)
		}
	}
	for _, n := range []int{len(rows), 1, 7, 8, 9} {
		flat := make([]float64, 0, n*p)
		for _, r := range rows[:n] {
			flat = append(flat, r[:]...)
		}
		got := m.PredictAll(flat)
		for i, r := range rows[:n] {
			if want := m.Predict(r[:]); got[i] != want {
				t.Fatalf("n=%d row %d %v: PredictAll %v, Predict %v", n, i, r, got[i], want)
			}
		}
	}
}

// The tabulated TreeSHAP (Fast TreeSHAP v2) equals the path recursion on
// trees that split a feature more than once on a path, with missing values.
func TestFastTreeSHAPMatchesRecursion(t *testing.T) {
	const p = 4
	X, y := xorData(4000, p, 0.1, 3)
	for i := 0; i < len(X); i += 5 {
		X[i] = math.NaN()
	}
	defer func(v int) { maxTableFeatures = v }(maxTableFeatures)
	for k, cfg := range []GBDTConfig{{Trees: 20, MaxDepth: 6}, {Trees: 20, MaxLeaves: 31, MaxDepth: 8}, {Trees: 5, MaxDepth: 12, MinChildWeight: 0.5}, {Trees: 40, MaxDepth: 4}} {
		if k == 3 {
			maxTableFeatures = 3 // some trees tabulated, the others by the recursion
		}
		m, err := FitGBDT(names(p), X, y, nil, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fast, slow := make([]float64, p), make([]float64, p)
		m.Contributions(fast, X[:p])
		tabulated := 0
		for _, st := range m.shapTabs {
			if st.ok {
				tabulated++
			}
		}
		if k < 3 && tabulated != len(m.Trees) || k == 3 && (tabulated == 0 || tabulated == len(m.Trees)) {
			t.Fatalf("%+v: %d of %d trees tabulated", cfg, tabulated, len(m.Trees))
		}
		for i := 0; i < 300; i++ {
			x := X[i*p : (i+1)*p]
			e1 := m.Contributions(fast, x)
			e2 := m.contributionsRecursive(slow, x)
			sum := e1
			for j := range p {
				sum += fast[j]
				if math.Abs(fast[j]-slow[j]) > 1e-9 {
					t.Fatalf("%+v row %d feature %d: table %v, recursion %v", cfg, i, j, fast[j], slow[j])
				}
			}
			if e1 != e2 || math.Abs(sum-m.Margin(x)) > 1e-9 {
				t.Fatalf("row %d: E[f] %v vs %v; sum %v, margin %v", i, e1, e2, sum, m.Margin(x))
			}
		}
	}
}

// ContributionsBatch equals Contributions row by row, tabulated trees or not.
func TestContributionsBatch(t *testing.T) {
	const p = 5
	X, y := xorData(2000, p, 0.1, 4)
	for i := 0; i < len(X); i += 7 {
		X[i] = math.NaN()
	}
	defer func(v int) { maxTableFeatures = v }(maxTableFeatures)
	for _, limit := range []int{10, 3} {
		maxTableFeatures = limit
		m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: 25, MaxDepth: 5})
		if err != nil {
			t.Fatal(err)
		}
		n := 300
		batch := make([]float64, n*p)
		e := m.ContributionsBatch(batch, X[:n*p])
		one := make([]float64, p)
		for i := range n {
			if m.Contributions(one, X[i*p:(i+1)*p]) != e {
				t.Fatal("E[f] differs")
			}
			for j := range p {
				if one[j] != batch[i*p+j] {
					t.Fatalf("limit %d row %d feature %d: batch %v, row %v", limit, i, j, batch[i*p+j], one[j])
				}
			}
		}
	}
}

// The bit-set explanation of small trees gives the same contributions, to
// the bit, as the per-condition one (missing values included).
func TestExplainBitsExact(t *testing.T) {
	const p = 12
	m, X := shapModel(t, 3000, p, 5, 5, 30)
	n := 500
	fast := make([]float64, n*p)
	m.ContributionsBatch(fast, X[:n*p])
	bits := 0
	for k := range m.shapTabs {
		if m.shapTabs[k].bits {
			bits++
			m.shapTabs[k].bits = false
		}
	}
	if bits != len(m.Trees) {
		t.Fatalf("%d of %d trees explained from bit sets", bits, len(m.Trees))
	}
	slow := make([]float64, n*p)
	m.ContributionsBatch(slow, X[:n*p])
	for i := range fast {
		if math.Float64bits(fast[i]) != math.Float64bits(slow[i]) {
			t.Fatalf("row %d feature %d: bits %v, conditions %v", i/p, i%p, fast[i], slow[i])
		}
	}
	if slices.Equal(fast, make([]float64, n*p)) {
		t.Fatal("no contributions at all")
	}
}

// The AVX-512 blocks give explainKeys8's contributions to the bit: on a
// model shaped like train's (63 features, trees of up to 31 leaves, missing
// values both ways) and batches whose row count leaves a tail.
func TestExplainAVX512Exact(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: explainKeys8 explains every block")
	}
	const p = 63
	m, X := shapModel(t, 4000, p, 7, 11, 40)
	for _, n := range []int{1, 5, 8, 9, 16, 17, 300} {
		fast := make([]float64, n*p)
		m.ContributionsBatch(fast, X[:n*p])
		if !m.shapAllVec {
			t.Fatal("not every tree is explained by the AVX-512 kernel")
		}
		haveAVX512 = false
		slow := make([]float64, n*p)
		m.ContributionsBatch(slow, X[:n*p])
		haveAVX512 = true
		for i := range fast {
			if math.Float64bits(fast[i]) != math.Float64bits(slow[i]) {
				t.Fatalf("n %d row %d feature %d: AVX-512 %v, explainKeys8 %v", n, i/p, i%p, fast[i], slow[i])
			}
		}
		if slices.Equal(fast, make([]float64, n*p)) {
			t.Fatal("no contributions at all")
		}
	}
	padded := 0 // trees whose last group of eight features is padded
	for k := range m.shapTabs {
		b := &m.shapTabs[k].shapBits
		if uintptr(unsafe.Pointer(&b.flat[0]))%64 != 0 {
			t.Fatalf("tree %d: leaf tables not on a cache line", k)
		}
		if len(b.feats) > 8 && len(b.feats)%8 != 0 {
			padded++
		}
	}
	if padded == 0 {
		t.Fatal("no tree with more than one group of features and a padded one")
	}
}

// groupFeatures puts every feature of a tree in one lane, at most eight a
// group, in as few groups as fit them, and the AVX-512 kernel's steps
// (leaf and group pairs) are never more than with the features in order,
// and fewer on some trees of a model shaped like train's.
func TestGroupFeatures(t *testing.T) {
	const p = 63
	m, _ := shapModel(t, 4000, p, 8, 0, 30)
	m.prepareShap()
	steps := func(lanes []int32, leaves []shapLeaf) int {
		n := 0
		for g := 0; g < len(lanes); g += 8 {
			for _, lf := range leaves {
				if slices.ContainsFunc(lf.feats, func(f int) bool { return slices.Contains(lanes[g:g+8], int32(f)) }) {
					n++
				}
			}
		}
		return n
	}
	fewer := 0
	for k := range m.Trees {
		tab := &m.shapTabs[k]
		lanes := groupFeatures(tab.feats, tab.leaves)
		if len(lanes) != (len(tab.feats)+7)/8*8 {
			t.Fatalf("tree %d: %d lanes for %d features", k, len(lanes), len(tab.feats))
		}
		got := slices.DeleteFunc(slices.Clone(lanes), func(f int32) bool { return f < 0 })
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tab.feats))
		if !slices.Equal(got, want) {
			t.Fatalf("tree %d: lanes hold %v, want each of %v once", k, got, want)
		}
		for g := 0; g < len(lanes); g += 8 {
			if lanes[g] < 0 {
				t.Fatalf("tree %d: group %d has no first feature", k, g/8)
			}
		}
		inOrder := make([]int32, len(lanes))
		for i := range inOrder {
			inOrder[i] = -1
		}
		copy(inOrder, tab.feats)
		a, b := steps(lanes, tab.leaves), steps(inOrder, tab.leaves)
		if a > b {
			t.Fatalf("tree %d: %d steps, %d with the features in order", k, a, b)
		}
		if a < b {
			fewer++
		}
		if tab.vec && len(tab.ops) != a {
			t.Fatalf("tree %d: %d steps packed, %d counted", k, len(tab.ops), a)
		}
	}
	if fewer == 0 {
		t.Fatal("no tree needs fewer steps than with its features in order")
	}
}

// ExplainPredictBatch gives ContributionsBatch's contributions and
// PredictAll's predictions to the bit, from the kernel's pass or without
// AVX-512, for row counts around the blocks of eight; one tree is a root
// alone and one has a leaf with eight path features.
func TestExplainPredictBatch(t *testing.T) {
	const p = 63
	m, X := shapModel(t, 4000, p, 10, 13, 30)
	var chain Tree // splits on features 0…7, each left child a leaf
	for f := range 8 {
		k := len(chain.Nodes)
		chain.Nodes = append(chain.Nodes, Node{Feature: f, Threshold: 0.1 * float64(f-4), MissingLeft: f%3 == 0, Left: k + 1, Right: k + 2, Cover: 100},
			Node{Left: -1, Value: float64(f) / 7, Cover: 50})
	}
	chain.Nodes = append(chain.Nodes, Node{Left: -1, Value: -0.3, Cover: 50})
	m.Trees = append(m.Trees, Tree{Nodes: []Node{{Left: -1, Value: 0.05, Cover: 1}}}, chain)
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	for _, avx := range []bool{true, false} {
		haveAVX512 = haveAVX512 && avx
		if m.ExplainPredicts() != haveAVX512 {
			t.Fatalf("AVX-512 %v: ExplainPredicts %v", haveAVX512, !haveAVX512)
		}
		for _, n := range []int{1, 5, 8, 9, 16, 17, 300} {
			dst, pred := make([]float64, n*p), make([]float64, n)
			eb := m.ExplainPredictBatch(dst, pred, X[:n*p])
			want := make([]float64, n*p)
			ew := m.ContributionsBatch(want, X[:n*p])
			wantPred := m.PredictAll(X[:n*p])
			if eb != ew {
				t.Fatalf("n %d: E[f] %v, want %v", n, eb, ew)
			}
			for i := range dst {
				if math.Float64bits(dst[i]) != math.Float64bits(want[i]) {
					t.Fatalf("AVX-512 %v n %d row %d feature %d: %v, want %v", haveAVX512, n, i/p, i%p, dst[i], want[i])
				}
			}
			for i := range pred {
				if math.Float64bits(pred[i]) != math.Float64bits(wantPred[i]) {
					t.Fatalf("AVX-512 %v n %d row %d: prediction %v, PredictAll %v", haveAVX512, n, i, pred[i], wantPred[i])
				}
			}
		}
	}
}

// A tree whose deepest leaf has eight distinct path features is for the
// AVX-512 kernel; one with nine is explained by explainKeys8. Both give
// every row's contributions as the row alone does, to the bit: a chain of
// splits on features 0, 1, … (each split's left child a leaf), rows
// missing some values.
func TestExplainChainTreesExact(t *testing.T) {
	const p, n = 12, 40
	X, _ := xorData(n, p, 0.1, 9)
	for i := 0; i < len(X); i += 7 {
		X[i] = math.NaN()
	}
	for _, depth := range []int{8, 9} {
		var tr Tree
		cover := 1000.0
		for f := range depth {
			k := len(tr.Nodes)
			tr.Nodes = append(tr.Nodes, Node{Feature: f, Threshold: 0.5, MissingLeft: f%2 == 0, Left: k + 1, Right: k + 2, Cover: cover},
				Node{Left: -1, Value: float64(f+1) / 10, Cover: cover / 3})
			cover -= cover / 3
		}
		tr.Nodes = append(tr.Nodes, Node{Left: -1, Value: -0.7, Cover: cover})
		m := &GBDT{Features: names(p), Trees: []Tree{tr, tr}}
		batch := make([]float64, n*p)
		m.ContributionsBatch(batch, X)
		if want := depth <= 8; m.shapAllVec != want || !m.shapTabs[0].bits {
			t.Fatalf("depth %d: for the AVX-512 kernel %v, want %v (bit sets %v)", depth, m.shapAllVec, want, m.shapTabs[0].bits)
		}
		one := make([]float64, p)
		for i := range n {
			m.Contributions(one, X[i*p:(i+1)*p])
			for j := range p {
				if math.Float64bits(one[j]) != math.Float64bits(batch[i*p+j]) {
					t.Fatalf("depth %d row %d feature %d: batch %v, row %v", depth, i, j, batch[i*p+j], one[j])
				}
			}
		}
		if slices.Equal(batch, make([]float64, n*p)) {
			t.Fatal("no contributions at all")
		}
	}
}

// The rows' draws take the values rand.Rand.Float64() < share would, one
// a row, and leave the source where Float64 calls would.
func TestSampleRowsMatchesFloat64(t *testing.T) {
	const n = 50_000
	for _, share := range []float64{0.8, 0.5, 1.0 / 3, 1e-9, math.Nextafter(1, 0), 1} {
		ref := rand.New(rand.NewPCG(7, 9))
		src := rand.NewPCG(7, 9)
		in, out := make([]int32, n), make([]int32, n)
		for round := range 3 {
			var wantIn, wantOut []int32
			for i := range n {
				if share >= 1 || ref.Float64() < share {
					wantIn = append(wantIn, int32(i))
				} else {
					wantOut = append(wantOut, int32(i))
				}
			}
			gotIn, gotOut := sampleRows(src, in, out, share)
			if !slices.Equal(gotIn, wantIn) || !slices.Equal(gotOut, wantOut) {
				t.Fatalf("share %v round %d: %d in, %d out; want %d, %d", share, round, len(gotIn), len(gotOut), len(wantIn), len(wantOut))
			}
		}
		if ref.Uint64() != src.Uint64() {
			t.Fatalf("share %v: the source moved on differently", share)
		}
	}
}

// The validation losses of early stopping are those of Tree.predict: on
// binned rows (the thresholds' neighbours, missing values, −Inf, −0) and,
// with +Inf among them (the neighbour above a split at a feature's last
// bin, whose bound is the largest float), by value.
func TestGBDTValidationLossMatchesPredict(t *testing.T) {
	const p = 4
	X, y := xorData(3000, p, 0.1, 1)
	for i := 0; i < len(X); i += 7 {
		X[i] = math.NaN()
	}
	// Validation rows only choose where to stop: the same trees grow.
	cfg := GBDTConfig{Trees: 20, MaxDepth: 5, Subsample: 0.7, ColSample: 0.8, EarlyStopping: 100}
	first, err := FitGBDT(names(p), X, y, nil, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var Xv, yv []float64
	for _, tr := range first.Trees {
		for _, nd := range tr.Nodes {
			if nd.Left < 0 {
				continue
			}
			for _, v := range []float64{nd.Threshold, math.Nextafter(nd.Threshold, math.Inf(1)), math.Nextafter(nd.Threshold, math.Inf(-1)), math.NaN(), math.Inf(-1), math.Copysign(0, -1)} {
				r := len(yv) % 3000
				row := slices.Clone(X[r*p : (r+1)*p])
				row[nd.Feature] = v
				Xv, yv = append(Xv, row...), append(yv, y[r])
			}
		}
	}
	check := func(name string, Xv []float64) {
		t.Helper()
		m, err := FitGBDT(names(p), X, y, Xv, yv, cfg)
		if err != nil {
			t.Fatal(err)
		}
		trees := m.Trees
		m.Trees = trees[:0]
		for r, loss := range m.ValidLogLoss {
			m.Trees = trees[:r+1]
			want := 0.0
			for i := range yv {
				want += logLoss(m.Margin(Xv[i*p:(i+1)*p]), yv[i])
			}
			if want /= float64(len(yv)); loss != want {
				t.Fatalf("%s: round %d: validation loss %v, by Tree.predict %v", name, r, loss, want)
			}
		}
		if len(m.ValidLogLoss) != 20 {
			t.Fatalf("%s: %d rounds", name, len(m.ValidLogLoss))
		}
	}
	finite, infs := slices.Clone(Xv), 0
	for i, v := range finite {
		if math.IsInf(v, 1) {
			finite[i] = math.MaxFloat64
			infs++
		}
	}
	if infs == 0 {
		t.Fatal("no split at a last bin: no +Inf to test")
	}
	check("binned", finite)
	check("with +Inf", Xv)
}

// The training rows' margins, kept up by the growing (sampled rows) and by
// walking the bins (the others), are those of Tree.predict.
func TestGBDTTrainingMarginsMatchPredict(t *testing.T) {
	const p = 4
	X, y := xorData(3000, p, 0.1, 1)
	for i := 0; i < len(X); i += 7 {
		X[i] = math.NaN()
	}
	for _, sub := range []float64{1, 0.7} {
		m, margin, err := fitGBDT(names(p), matRows{X: X, p: p}, y, matRows{p: p}, nil, GBDTConfig{Trees: 15, MaxDepth: 5, Subsample: sub, ColSample: 0.8})
		if err != nil {
			t.Fatal(err)
		}
		for i := range y {
			if want := m.Margin(X[i*p : (i+1)*p]); margin[i] != want {
				t.Fatalf("subsample %v: row %d: margin %v, by Tree.predict %v", sub, i, margin[i], want)
			}
		}
	}
}

// Leaving out the features whose rows are all in one bin (a constant, all
// missing) grows the same trees as building their histograms: with
// sampled rows and features, early stopping, and next to near-constant
// features (one row apart; a constant with missing values) that can split;
// and when no feature can split at all.
func TestGBDTSkipsOneBinFeatures(t *testing.T) {
	const n, p = 4000, 9
	X0, y := xorData(n, 3, 0.1, 2)
	X := make([]float64, n*p)
	for i := range n {
		row := X[i*p : (i+1)*p]
		row[0], row[4], row[8] = X0[i*3], X0[i*3+1], X0[i*3+2]
		row[1] = 7          // constant
		row[2] = math.NaN() // missing throughout
		row[3] = 0          // constant but one row
		if i == n/2 {
			row[3] = 1
		}
		row[5] = 3 // constant with missing values: present vs missing can split
		if i%5 == 0 {
			row[5] = math.NaN()
		}
		row[6], row[7] = -1, 0 // constants
	}
	// Columns 1, 2, 6 and 7 are in one bin; 3 and 5 are not.
	bins := make([][]uint8, p)
	th := make([][]float64, p)
	for j := range p {
		bins[j] = make([]uint8, n)
		col := make([]float64, 0, n)
		for i := range n {
			if v := X[i*p+j]; !math.IsNaN(v) {
				col = append(col, v)
			}
		}
		th[j] = binThresholds(col, 255)
	}
	binRows(bins, rowBins{}, matRows{X: X, p: p}, 0, n, th)
	for j := range p {
		if want := j == 1 || j == 2 || j == 6 || j == 7; oneBin(bins[j]) != want {
			t.Errorf("column %d: oneBin %v", j, !want)
		}
	}
	Xv, yv := X[:n/4*p], y[:n/4]
	fit := func(skip bool, X, Xv []float64, cols int) string {
		t.Helper()
		skipOneBin = skip
		defer func() { skipOneBin = true }()
		return fitJSON(t, names(cols), X, y, Xv, yv, GBDTConfig{Trees: 25, MaxDepth: 5, MaxLeaves: 12, Subsample: 0.8, ColSample: 0.6, Seed: 4})
	}
	if a, b := fit(true, X, Xv, p), fit(false, X, Xv, p); a != b {
		t.Fatalf("the trees differ when one-bin features are left out:\n%.300s\n%.300s", a, b)
	}
	// Only constants: every tree is its root.
	C := make([]float64, n*3)
	for i := range C {
		C[i] = []float64{7, math.NaN(), -1}[i%3]
	}
	a, b := fit(true, C, C[:n/4*3], 3), fit(false, C, C[:n/4*3], 3)
	if a != b || !strings.Contains(a, `"trees":[{"nodes":[{"l":-1,`) {
		t.Fatalf("constants only: %.200s, %.200s", a, b)
	}
}

// Children at the depth limit, or made by the split that spends the leaf
// budget, get no histograms: the trees are the same, leaf-wise and
// depth-wise, as when every child's best split is searched.
func TestGBDTSkipsLeafChildren(t *testing.T) {
	const n, p = 6000, 6
	X, y := xorData(n, p, 0.1, 3)
	for _, cfg := range []GBDTConfig{
		{Trees: 20, MaxDepth: 4, MaxLeaves: 9, Subsample: 0.8, ColSample: 0.8, Seed: 2}, // the budget and the depth
		{Trees: 20, MaxDepth: 6, MaxLeaves: 31, Subsample: 0.8, Seed: 3},                // mostly the depth
		{Trees: 20, MaxDepth: 3, Seed: 4},                                               // depth-wise
	} {
		fit := func(skip bool) string {
			t.Helper()
			skipLeafChildren = skip
			defer func() { skipLeafChildren = true }()
			return fitJSON(t, names(p), X, y, nil, nil, cfg)
		}
		if a, b := fit(true), fit(false); a != b {
			t.Fatalf("%+v: the trees differ when leaf children get no histograms:\n%.300s\n%.300s", cfg, a, b)
		}
	}
}

// shapModel fits a model shaped like train's (trees of up to 31 leaves and
// depth 6) to n rows of xorData with p features, every nanEvery-th value
// missing (none when 0), for the TreeSHAP tests; it returns the rows too.
func shapModel(t *testing.T, n, p int, seed uint64, nanEvery, trees int) (*GBDT, []float64) {
	t.Helper()
	X, y := xorData(n, p, 0.1, seed)
	for i := 0; nanEvery > 0 && i < len(X); i += nanEvery {
		X[i] = math.NaN()
	}
	m, err := FitGBDT(names(p), X, y, nil, nil, GBDTConfig{Trees: trees, MaxLeaves: 31, MaxDepth: 6})
	if err != nil {
		t.Fatal(err)
	}
	return m, X
}

// fitJSON fits a GBDT and returns it as JSON, to compare two fits whole.
func fitJSON(t *testing.T, names []string, X, y, Xv, yv []float64, cfg GBDTConfig) string {
	t.Helper()
	m, err := FitGBDT(names, X, y, Xv, yv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The gradients with q eight rows at a time (sigmoid8) are those of one
// row at a time, to the bit, margins of every size included.
func TestGradientsVectorMatchesScalar(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 here: one row at a time only")
	}
	const n = 50_003
	rng := rand.New(rand.NewPCG(5, 6))
	margin, y := make([]float64, n), make([]float64, n)
	for i := range margin {
		margin[i] = rng.NormFloat64() * []float64{0.1, 3, 40, 800}[i%4]
		y[i] = float64(rng.IntN(2))
	}
	margin[7], margin[8], margin[9] = math.Inf(1), math.Inf(-1), -709.79
	var some []int32
	for i := 0; i < n; i += 1 + i%3 {
		some = append(some, int32(i))
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	for _, rows := range [][]int32{all, some} {
		run := func(vector bool) ([]int64, []float64, []float64) {
			haveAVX512 = vector
			defer func() { haveAVX512 = true }()
			packed, g, h := make([]int64, n), make([]float64, n), make([]float64, n)
			gradients(packed, g, h, margin, y, rows, 3, 2)
			return packed, g, h
		}
		p1, g1, h1 := run(true)
		p0, g0, h0 := run(false)
		for i := range n {
			if p1[i] != p0[i] || math.Float64bits(g1[i]) != math.Float64bits(g0[i]) || math.Float64bits(h1[i]) != math.Float64bits(h0[i]) {
				t.Fatalf("%d rows: row %d (margin %v): vector %d %v %v, scalar %d %v %v", len(rows), i, margin[i], p1[i], g1[i], h1[i], p0[i], g0[i], h0[i])
			}
		}
	}
}

// A sparse node's histograms from the row-major bins equal those summed by
// column, for strides with padding, feature lists of every length mod 4,
// nodes small and split between cores, and missing bins.
func TestBuildHistRowsMatchColumns(t *testing.T) {
	defer func(v int) { sparseNode = v }(sparseNode)
	sparseNode = 1 // every node but the whole data by row
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range []int{1, 5, 8, 13, 63, 70} {
		const n = 20000
		X := make([]float64, n*p)
		for i := range X {
			switch rng.IntN(10) {
			case 0:
				X[i] = math.NaN()
			case 1, 2, 3:
				X[i] = 0
			default:
				X[i] = rng.NormFloat64()
			}
		}
		bins, th := make([][]uint8, p), make([][]float64, p)
		for j := range p {
			bins[j] = make([]uint8, n)
			th[j] = binThresholds(sampleColumns(matRows{X: X, p: p}, n, p)[j], 255)
		}
		byRow := newRowBins(n, p)
		if byRow.stride%8 != 0 || byRow.stride < p || byRow.stride >= p+8 {
			t.Fatalf("p %d: stride %d", p, byRow.stride)
		}
		parallelRange(n, func(lo, hi int) { binRows(bins, byRow, matRows{X: X, p: p}, lo, hi, th) })
		packed := make([]int64, n)
		for i := range packed {
			packed[i] = int64(rng.IntN(1<<20)-1<<19)<<32 | int64(rng.IntN(1<<20))
		}
		for _, m := range []int{0, 1, 3, 257, 4095, 9000, n - 1} {
			rows := make([]int32, 0, m)
			for _, i := range rng.Perm(n)[:m] {
				rows = append(rows, int32(i))
			}
			slices.Sort(rows)
			feats := rng.Perm(p)[:1+rng.IntN(p)]
			slices.Sort(feats)
			want := buildHist(bins, rowBins{}, packed, rows, feats, p)
			got := buildHist(bins, byRow, packed, rows, feats, p)
			var adds int64
			for _, j := range feats {
				if got[j] != want[j] {
					t.Fatalf("p %d, %d rows: feature %d's histogram differs", p, m, j)
				}
				for _, c := range want[j] {
					adds += c & (1<<32 - 1)
				}
			}
			if m > 0 && adds == 0 {
				t.Fatalf("p %d, %d rows: empty histograms", p, m)
			}
		}
	}
}

// Fits whose sparse nodes sum by row and by column give the same trees.
func TestGBDTRowBinsSameTrees(t *testing.T) {
	const n, p = 8000, 11
	X, y := xorData(n, p, 0.1, 7)
	for i := 0; i < len(X); i += 13 {
		X[i] = math.NaN()
	}
	cfg := GBDTConfig{Trees: 15, MaxDepth: 6, MaxLeaves: 31, Subsample: 0.8, ColSample: 0.7, Seed: 8}
	fit := func(sparse int) string {
		t.Helper()
		defer func(v int) { sparseNode = v }(sparseNode)
		sparseNode = sparse
		return fitJSON(t, names(p), X, y, X[:n/5*p], y[:n/5], cfg)
	}
	if a, b := fit(1<<40), fit(1); a != b {
		t.Fatalf("the trees differ when sparse nodes sum by row:\n%.300s\n%.300s", a, b)
	}
}

// With AVX-512, binRows counts the bounds below each key (binTable) and
// writes both layouts at once: the same bins as the binary search, for
// every bound count, the values at and around the bounds, NaN, ±Inf, ±0,
// subnormals and the largest floats, rows in order or chosen by index.
func TestBinRowsAVX512MatchesSearch(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 on this processor")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, 5e-324, -5e-324}
	for _, nb := range []int{1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 200, 254, 255} {
		const n, p = 700, 5
		th := make([][]float64, p)
		for j := range th {
			if j == 4 { // a feature with few distinct values
				th[j] = binThresholds([]float64{0, 1, 2, 3}, 255)
				continue
			}
			vals := make([]float64, nb)
			for k := range vals {
				vals[k] = math.Round(rng.NormFloat64()*1000) / 10
			}
			vals[0] = 0
			slices.Sort(vals)
			vals = slices.Compact(vals)
			th[j] = append(vals, math.MaxFloat64)[max(0, len(vals)+1-nb):]
		}
		X := make([]float64, n*p)
		for i := range n {
			for j := range p {
				var v float64
				switch r := rng.IntN(10); {
				case r == 0:
					v = special[rng.IntN(len(special))]
				case r < 4 && len(th[j]) > 1: // at or just beside a bound
					v = th[j][rng.IntN(len(th[j])-1)]
					v = math.Nextafter(v, v+float64(rng.IntN(3)-1))
				default:
					v = math.Round(rng.NormFloat64()*1500) / 10
				}
				X[i*p+j] = v
			}
		}
		idx := make([]int32, 300)
		for k := range idx {
			idx[k] = int32(rng.IntN(n))
		}
		for _, rows := range []matRows{{X: X, p: p}, {X: X, p: p, idx: idx}} {
			m := n
			if rows.idx != nil {
				m = len(rows.idx)
			}
			got, want := make([][]uint8, p), make([][]uint8, p)
			for j := range p {
				got[j], want[j] = make([]uint8, m), make([]uint8, m)
			}
			gotRows, wantRows := newRowBins(m, p), newRowBins(m, p)
			binRows(got, gotRows, rows, 0, 100, th)
			binRows(got, rowBins{}, rows, 100, m, th) // without the row-major copy
			haveAVX512 = false
			binRows(want, wantRows, rows, 0, m, th)
			haveAVX512 = true
			for j := range p {
				for i := range m {
					if got[j][i] != want[j][i] {
						t.Fatalf("%d bounds, feature %d, row %d (%v): bin %d, want %d", len(th[j]), j, i, rows.row(i)[j], got[j][i], want[j][i])
					}
					if i < 100 && gotRows.b[i*gotRows.stride+j] != want[j][i] {
						t.Fatalf("%d bounds, feature %d, row %d: row-major bin %d, want %d", len(th[j]), j, i, gotRows.b[i*gotRows.stride+j], want[j][i])
					}
				}
			}
			if !slices.Equal(gotRows.b[100*gotRows.stride:], make([]uint8, (m-100)*gotRows.stride)) {
				t.Fatal("the row-major bins were written for rows binned without them")
			}
		}
	}
}
