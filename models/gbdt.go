package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// GBDTConfig configures FitGBDT. Zero values take the defaults in brackets.
type GBDTConfig struct {
	Trees          int     // boosting rounds at most [300]
	LearningRate   float64 // shrinkage [0.1]
	MaxDepth       int     // no deeper than this [6]
	MaxLeaves      int     // when > 0: leaf-wise growth (best gain first) to this many leaves, else depth-wise
	MinChildWeight float64 // least hessian sum in a child [1]
	Lambda         float64 // L2 penalty on leaf weights [1]
	MinGain        float64 // least loss reduction to split [0]
	Subsample      float64 // share of rows per tree, seeded [1]
	ColSample      float64 // share of features per tree, seeded [1]
	MaxBins        int     // quantile bins per feature, ≤ 255 [255]
	EarlyStopping  int     // stop after this many rounds without validation gain [20]; needs validation data
	Seed           uint64  // source of the row and feature subsamples
}

func (c GBDTConfig) withDefaults() GBDTConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Trees == 0 {
		c.Trees = 300
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 6
	}
	if c.MaxBins == 0 {
		c.MaxBins = 255
	}
	if c.EarlyStopping == 0 {
		c.EarlyStopping = 20
	}
	def(&c.LearningRate, 0.1)
	def(&c.MinChildWeight, 1)
	def(&c.Lambda, 1)
	def(&c.Subsample, 1)
	def(&c.ColSample, 1)
	return c
}

// GBDT is a gradient-boosted ensemble of binary trees on the log-odds scale
// (logistic loss; Friedman 2001, with second-order leaf weights and split
// gains as in Chen & Guestrin 2016, XGBoost).
type GBDT struct {
	Features     []string    `json:"features"`
	Base         float64     `json:"base"` // initial log-odds: the training positive rate's
	Trees        []Tree      `json:"trees"`
	Thresholds   [][]float64 `json:"-"`                        // the bins' upper bounds per feature (training only)
	BestRound    int         `json:"best_round"`               // trees kept (early stopping)
	ValidLogLoss []float64   `json:"valid_log_loss,omitempty"` // validation log loss after each round

	shapOnce     sync.Once
	shapExpected float64 // E[f]: Base + Σ trees' cover-weighted leaf means
	shapDepth    int     // the deepest tree's depth
}

// Tree is one regression tree; Nodes[0] is the root, and a split's right
// child follows its left one (Right = Left + 1).
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// flatNode is a node packed for scoring: 16 bytes, a leaf when left < 0
// (its weight in thr).
type flatNode struct {
	thr   float64
	left  int32
	feat  int16
	mleft bool
}

func (t *Tree) flat() []flatNode {
	out := make([]flatNode, len(t.Nodes))
	for k, nd := range t.Nodes {
		if nd.Left < 0 {
			out[k] = flatNode{thr: nd.Value, left: -1}
		} else {
			out[k] = flatNode{thr: nd.Threshold, left: int32(nd.Left), feat: int16(nd.Feature), mleft: nd.MissingLeft}
		}
	}
	return out
}

func predictFlat(f []flatNode, x []float64) float64 {
	k := int32(0)
	for {
		nd := &f[k]
		if nd.left < 0 {
			return nd.thr
		}
		v := x[nd.feat]
		k = nd.left
		if v > nd.thr || v != v && !nd.mleft { // written for a conditional move, not a branch
			k++
		}
	}
}

// Node is a split (Left ≥ 0) or a leaf. A row goes left when its value is
// ≤ Threshold, and missing values (NaN) go left when MissingLeft.
type Node struct {
	Feature     int     `json:"f,omitempty"`
	Threshold   float64 `json:"t,omitempty"`
	MissingLeft bool    `json:"ml,omitempty"`
	Left        int     `json:"l"`
	Right       int     `json:"r,omitempty"`
	Value       float64 `json:"v,omitempty"` // leaf weight, shrinkage included
	Cover       float64 `json:"c"`           // hessian sum of the training rows that reached it
	bin         uint8   // the split's bin (training only)
}

const missingBin = 255

// FitGBDT fits a GBDT to X (n×p row-major, NaN = missing) and 0/1 labels y.
// Xv, yv (may be nil) are the validation rows for early stopping: the model
// keeps the rounds up to the best validation log loss. Histograms are built
// across features in parallel with a fixed reduction order, so the model
// depends on the data, config and seed only.
func FitGBDT(names []string, X, y, Xv, yv []float64, cfg GBDTConfig) (*GBDT, error) {
	cfg = cfg.withDefaults()
	n, p := len(y), len(names)
	switch {
	case n == 0 || len(X) != n*p:
		return nil, fmt.Errorf("models: gbdt: X has %d values, want %d×%d", len(X), n, p)
	case len(Xv) != len(yv)*p:
		return nil, fmt.Errorf("models: gbdt: validation X has %d values, want %d×%d", len(Xv), len(yv), p)
	case cfg.MaxBins < 2 || cfg.MaxBins > 255:
		return nil, fmt.Errorf("models: gbdt: max bins must be 2..255, got %d", cfg.MaxBins)
	case cfg.LearningRate <= 0 || cfg.Lambda < 0 || cfg.Subsample <= 0 || cfg.Subsample > 1 || cfg.ColSample <= 0 || cfg.ColSample > 1:
		return nil, errors.New("models: gbdt: need learning rate > 0, lambda ≥ 0, subsample and colsample in (0, 1]")
	}
	pos, err := binaryLabels("gbdt", y)
	if err != nil {
		return nil, err
	}
	m := &GBDT{Features: slices.Clone(names), Base: math.Log(pos / (float64(n) - pos))}
	m.Thresholds = make([][]float64, p)
	bins := make([][]uint8, p)
	parallelEach(p, false, func(j int) {
		m.Thresholds[j] = binThresholds(X, n, p, j, cfg.MaxBins)
		bins[j] = binColumn(X, n, p, j, m.Thresholds[j])
	})
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	margin := make([]float64, n)
	for i := range margin {
		margin[i] = m.Base
	}
	vmargin := make([]float64, len(yv))
	for i := range vmargin {
		vmargin[i] = m.Base
	}
	g, h := make([]float64, n), make([]float64, n)
	best, bestLoss := 0, math.Inf(1)
	for round := range cfg.Trees {
		parallelFor(n, func(i int) {
			q := sigmoid(margin[i])
			g[i], h[i] = q-y[i], math.Max(q*(1-q), 1e-16)
		})
		rows := sampleRows(rng, n, cfg.Subsample)
		feats := sampleFeatures(rng, p, cfg.ColSample)
		t, leafRows := growTree(bins, g, h, rows, feats, cfg)
		for k := range t.Nodes {
			if t.Nodes[k].Left >= 0 {
				t.Nodes[k].Threshold = m.Thresholds[t.Nodes[k].Feature][t.Nodes[k].bin]
			}
		}
		m.Trees = append(m.Trees, t)
		if len(rows) == n { // every row is in a leaf's list
			parallelEach(len(leafRows), false, func(k int) {
				for _, i := range leafRows[k] {
					margin[i] += t.Nodes[k].Value
				}
			})
		} else {
			parallelFor(n, func(i int) { margin[i] += t.leafBinned(bins, i) })
		}
		if len(yv) == 0 {
			best = round + 1
			continue
		}
		loss := 0.0
		for i := range yv {
			vmargin[i] += t.predict(Xv[i*p : (i+1)*p])
			loss += logLoss(vmargin[i], yv[i])
		}
		loss /= float64(len(yv))
		m.ValidLogLoss = append(m.ValidLogLoss, loss)
		if loss < bestLoss-1e-12 {
			best, bestLoss = round+1, loss
		} else if round+1-best >= cfg.EarlyStopping {
			break
		}
	}
	m.Trees, m.BestRound = m.Trees[:best], best
	return m, nil
}

// logLoss is the logistic loss of margin s for label y.
func logLoss(s, y float64) float64 {
	if y == 1 {
		return softplus(-s)
	}
	return softplus(s)
}

// binThresholds returns the upper bounds of feature j's bins: midpoints
// between distinct values when there are few, else distinct quantiles.
func binThresholds(X []float64, n, p, j, maxBins int) []float64 {
	// Bounds from at most binSample rows, evenly strided (as sklearn's
	// HistGradientBoosting subsamples 2·10⁵ for its bins): the quantiles
	// barely move and sorting stays cheap.
	const binSample = 200_000
	step := max(1, n/binSample)
	vals := make([]float64, 0, min(n, binSample+1))
	for i := 0; i < n; i += step {
		if v := X[i*p+j]; !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	uniq := slices.Compact(slices.Clone(vals))
	var th []float64
	if len(uniq) <= maxBins {
		for k := 0; k+1 < len(uniq); k++ {
			th = append(th, uniq[k]+(uniq[k+1]-uniq[k])/2)
		}
	} else {
		for b := 1; b < maxBins; b++ {
			v := vals[b*len(vals)/maxBins]
			if len(th) == 0 || v > th[len(th)-1] {
				th = append(th, v)
			}
		}
		if th[len(th)-1] >= uniq[len(uniq)-1] {
			th = th[:len(th)-1] // the largest value needs a bin above the last bound
		}
	}
	// The last bin's bound: the largest float, not +Inf, so a split there
	// (all present values left, missing right) survives JSON.
	return append(th, math.MaxFloat64)
}

func binColumn(X []float64, n, p, j int, th []float64) []uint8 {
	out := make([]uint8, n)
	for i := range n {
		v := X[i*p+j]
		if math.IsNaN(v) {
			out[i] = missingBin
			continue
		}
		b, _ := slices.BinarySearch(th, v) // first bound ≥ v
		out[i] = uint8(min(b, len(th)-1))  // +Inf joins the last bin
	}
	return out
}

func sampleRows(rng *rand.Rand, n int, share float64) []int32 {
	rows := make([]int32, 0, n)
	for i := range n {
		if share >= 1 || rng.Float64() < share {
			rows = append(rows, int32(i))
		}
	}
	return rows
}

func sampleFeatures(rng *rand.Rand, p int, share float64) []int {
	feats := make([]int, p)
	for j := range feats {
		feats[j] = j
	}
	if share >= 1 {
		return feats
	}
	rng.Shuffle(p, func(a, b int) { feats[a], feats[b] = feats[b], feats[a] })
	k := max(1, int(math.Ceil(share*float64(p))))
	feats = feats[:k]
	slices.Sort(feats)
	return feats
}

// hist holds the gradient and hessian sums per bin of every feature.
type hist [][256][2]float64

// growing is a node being grown: its rows and histogram.
type growing struct {
	node  int
	rows  []int32
	h     hist
	depth int
	G, H  float64
	split splitChoice
}

type splitChoice struct {
	gain        float64
	feature     int
	bin         uint8
	missingLeft bool
	ok          bool
	GL, HL      float64 // the left child's sums
}

// growTree grows one tree on the sampled rows: depth-wise (every node of a
// level) or, with MaxLeaves, leaf-wise (always the best-gain leaf). Each
// split builds the smaller child's histogram and gets the other's by
// subtraction from the parent's.
func growTree(bins [][]uint8, g, h []float64, rows []int32, feats []int, cfg GBDTConfig) (Tree, [][]int32) {
	p := len(bins)
	t := Tree{}
	var leafRows [][]int32              // by node index: the rows of each leaf
	scratch := make([]int32, len(rows)) // the right side of a partition
	root := &growing{node: 0, rows: rows, h: buildHist(bins, g, h, rows, feats, p)}
	for _, i := range rows {
		root.G += g[i]
		root.H += h[i]
	}
	t.Nodes = append(t.Nodes, Node{Left: -1, Cover: root.H})
	root.split = bestSplit(root.h, feats, root.G, root.H, cfg)
	open := []*growing{root}
	leaves := 1
	for len(open) > 0 {
		// Depth-wise: take nodes in creation order; leaf-wise: the best gain.
		k := 0
		if cfg.MaxLeaves > 0 {
			for c := range open {
				if open[c].split.gain > open[k].split.gain {
					k = c
				}
			}
		}
		nd := open[k]
		open = slices.Delete(open, k, k+1)
		canSplit := nd.split.ok && nd.depth < cfg.MaxDepth && (cfg.MaxLeaves <= 0 || leaves < cfg.MaxLeaves)
		if !canSplit {
			t.Nodes[nd.node].Value = leafWeight(nd.G, nd.H, cfg)
			for len(leafRows) <= nd.node {
				leafRows = append(leafRows, nil)
			}
			leafRows[nd.node] = nd.rows
			continue
		}
		s := nd.split
		col := bins[s.feature]
		// Stable partition in place: lefts forward, rights through scratch.
		nl, nr := 0, 0
		for _, i := range nd.rows {
			if b := col[i]; b == missingBin && s.missingLeft || b != missingBin && b <= s.bin {
				nd.rows[nl] = i
				nl++
			} else {
				scratch[nr] = i
				nr++
			}
		}
		copy(nd.rows[nl:], scratch[:nr])
		left, right := nd.rows[:nl:nl], nd.rows[nl:]
		small, large := left, right
		if len(right) < len(left) {
			small, large = right, left
		}
		hs := buildHist(bins, g, h, small, feats, p)
		hl := nd.h // reuse the parent's buffers for the larger child
		for _, j := range feats {
			for b := range hl[j] {
				hl[j][b][0] -= hs[j][b][0]
				hl[j][b][1] -= hs[j][b][1]
			}
		}
		children := [2]*growing{{rows: small, h: hs}, {rows: large, h: hl}}
		if len(right) < len(left) {
			children[0], children[1] = children[1], children[0] // [left, right]
		}
		li := len(t.Nodes)
		n := &t.Nodes[nd.node]
		n.Feature, n.bin, n.MissingLeft, n.Left, n.Right = s.feature, s.bin, s.missingLeft, li, li+1
		children[0].G, children[0].H = s.GL, s.HL
		children[1].G, children[1].H = nd.G-s.GL, nd.H-s.HL
		for c, ch := range children {
			ch.node, ch.depth = li+c, nd.depth+1
			t.Nodes = append(t.Nodes, Node{Left: -1, Cover: ch.H})
			ch.split = bestSplit(ch.h, feats, ch.G, ch.H, cfg)
			open = append(open, ch)
		}
		leaves++
	}
	return t, leafRows
}

func leafWeight(G, H float64, cfg GBDTConfig) float64 {
	return -G / (H + cfg.Lambda) * cfg.LearningRate
}

// buildHist sums gradients and hessians per bin for the given features,
// one goroutine per chunk of features (each writes its own rows of the
// histogram, so the sums do not depend on scheduling).
func buildHist(bins [][]uint8, g, h []float64, rows []int32, feats []int, p int) hist {
	hs := make(hist, p)
	og := make([][2]float64, len(rows)) // the rows' gradients in row order: one gather, not one per feature
	gather := func(k int) { og[k] = [2]float64{g[rows[k]], h[rows[k]]} }
	if len(rows) < 1<<15 {
		for k := range rows {
			gather(k)
		}
	} else {
		parallelFor(len(rows), gather)
	}
	// Four features per pass over the rows: one load of a row's gradients
	// serves four histograms.
	const group = 4
	parallelEach((len(feats)+group-1)/group, len(rows) < 4096, func(k int) {
		fs := feats[k*group : min((k+1)*group, len(feats))]
		if len(fs) < group {
			for _, j := range fs {
				col, hj := bins[j], &hs[j]
				for r, i := range rows {
					b := col[i]
					hj[b][0] += og[r][0]
					hj[b][1] += og[r][1]
				}
			}
			return
		}
		c0, c1, c2, c3 := bins[fs[0]], bins[fs[1]], bins[fs[2]], bins[fs[3]]
		h0, h1, h2, h3 := &hs[fs[0]], &hs[fs[1]], &hs[fs[2]], &hs[fs[3]]
		for r, i := range rows {
			gi, hi := og[r][0], og[r][1]
			b0, b1, b2, b3 := c0[i], c1[i], c2[i], c3[i]
			h0[b0][0] += gi
			h0[b0][1] += hi
			h1[b1][0] += gi
			h1[b1][1] += hi
			h2[b2][0] += gi
			h2[b2][1] += hi
			h3[b3][0] += gi
			h3[b3][1] += hi
		}
	})
	return hs
}

// bestSplit scans every feature's bins for the split with the largest gain
// ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ, trying the missing values
// on either side. Ties go to the lower feature index and bin.
func bestSplit(hs hist, feats []int, G, H float64, cfg GBDTConfig) splitChoice {
	score := func(g, h float64) float64 { return g * g / (h + cfg.Lambda) }
	parent := score(G, H)
	results := make([]splitChoice, len(feats))
	parallelEach(len(feats), true, func(k int) { // 255 bins a feature: cheaper than goroutines
		j := feats[k]
		hj := &hs[j]
		mg, mh := hj[missingBin][0], hj[missingBin][1]
		best := splitChoice{feature: j}
		var gl, hl float64
		for b := 0; b < missingBin; b++ {
			gl += hj[b][0]
			hl += hj[b][1]
			if hl == 0 && gl == 0 {
				continue
			}
			for _, ml := range [2]bool{false, true} {
				GL, HL := gl, hl
				if ml {
					GL, HL = gl+mg, hl+mh
				}
				GR, HR := G-GL, H-HL
				if HL < cfg.MinChildWeight || HR < cfg.MinChildWeight {
					continue
				}
				gain := (score(GL, HL)+score(GR, HR)-parent)/2 - cfg.MinGain
				if gain > best.gain+1e-12 {
					best = splitChoice{gain: gain, feature: j, bin: uint8(b), missingLeft: ml, ok: true, GL: GL, HL: HL}
				}
			}
		}
		results[k] = best
	})
	var best splitChoice
	for _, r := range results {
		if r.ok && (!best.ok || r.gain > best.gain+1e-12) {
			best = r
		}
	}
	return best
}

// leafBinned returns the leaf weight for training row i through the bins.
func (t *Tree) leafBinned(bins [][]uint8, i int) float64 {
	k := 0
	for {
		nd := &t.Nodes[k]
		if nd.Left < 0 {
			return nd.Value
		}
		if b := bins[nd.Feature][i]; b == missingBin && nd.MissingLeft || b != missingBin && b <= nd.bin {
			k = nd.Left
		} else {
			k = nd.Right
		}
	}
}

// predict returns the tree's leaf weight for row x.
func (t *Tree) predict(x []float64) float64 {
	k := 0
	for {
		nd := &t.Nodes[k]
		if nd.Left < 0 {
			return nd.Value
		}
		if v := x[nd.Feature]; math.IsNaN(v) && nd.MissingLeft || v <= nd.Threshold {
			k = nd.Left
		} else {
			k = nd.Right
		}
	}
}

// Margin returns the log-odds for row x (len p).
func (m *GBDT) Margin(x []float64) float64 {
	s := m.Base
	for k := range m.Trees {
		s += m.Trees[k].predict(x)
	}
	return s
}

// Predict returns P(y=1) for row x.
func (m *GBDT) Predict(x []float64) float64 { return sigmoid(m.Margin(x)) }

// PredictAll returns P(y=1) for every row of X (n×p), in parallel. Rows
// go in blocks, tree by tree, so each tree stays in the cache for a block.
func (m *GBDT) PredictAll(X []float64) []float64 {
	p := len(m.Features)
	out := make([]float64, len(X)/p)
	const block = 2048
	flat := make([][]flatNode, len(m.Trees))
	for k := range m.Trees {
		flat[k] = m.Trees[k].flat()
	}
	chunkedSum(len(out), block, 0, nil, func(lo, hi int, _ []float64) float64 {
		margin := out[lo:hi]
		for i := range margin {
			margin[i] = m.Base
		}
		for _, f := range flat {
			for i := range margin {
				margin[i] += predictFlat(f, X[(lo+i)*p:(lo+i+1)*p])
			}
		}
		for i := range margin {
			margin[i] = sigmoid(margin[i])
		}
		return 0
	})
	return out
}
