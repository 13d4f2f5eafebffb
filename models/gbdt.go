package models

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	shapNodes    int     // the most nodes of a tree
	shapTabs     []shapTables
	shapAllVec   bool // every tree can be explained by explainKeys8AVX512 (explainBlocks)
}

// Tree is one regression tree; Nodes[0] is the root, and a split's right
// child follows its left one (Right = Left + 1).
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Scoring compares integers, not floats: each value becomes its order key
// (sortKey: value ≤ threshold ⇔ key ≤ the threshold's key), and a missing
// value the key missingKey, above every float's. Integer compares compile
// to flag arithmetic, where a float compare is a branch that mispredicts on
// every other row.
const missingKey = math.MaxUint64

// encodeKeys writes the keys of rows lo..hi−1 of X (p values a row) to dst.
func encodeKeys(dst []uint64, X []float64, lo, hi, p int) {
	src := X[lo*p : hi*p]
	dst = dst[:len(src)]
	for i, v := range src {
		if v != v {
			dst[i] = missingKey
			continue
		}
		dst[i] = sortKey(v)
	}
}

// flatNode is a node packed for scoring. A leaf points to
// itself with the largest key as its bound, so a row that reached it stays
// there: every row takes the same number of steps, without a test for
// leaves.
type flatNode struct {
	left  int32
	feat  int32
	shift uint64 // 1 when missing values go left, else 0
	bound uint64 // right when (key + shift) mod 2⁶⁴ > bound
}

// flatTree is a tree packed for scoring: its nodes, the leaf weights by
// node, and its depth (the steps from the root to its deepest leaf).
type flatTree struct {
	nodes  []flatNode
	values []float64
	depth  int
}

func (t *Tree) flat() flatTree {
	nodes, values, depth := packTree(t, func(k int) flatNode { return flatNode{left: int32(k), bound: missingKey} }, func(nd *Node) flatNode {
		// Missing values (missingKey) go right: key > bound. To send them
		// left, shift every key by one: missingKey wraps to 0, below any
		// bound, and the others (below +Inf's key) keep their order
		// against bound + 1.
		shift := uint64(0)
		if nd.MissingLeft {
			shift = 1
		}
		return flatNode{left: int32(nd.Left), feat: int32(nd.Feature), shift: shift, bound: sortKey(nd.Threshold) + shift}
	})
	return flatTree{nodes: nodes, values: values, depth: depth}
}

// packTree packs t's nodes for walks without a test for leaves: leaf(k)
// for a leaf (pointing to itself), split(nd) for a split; with the leaf
// weights by node and the depth (the steps from the root to the deepest
// leaf).
func packTree[N any](t *Tree, leaf func(k int) N, split func(nd *Node) N) (nodes []N, values []float64, depth int) {
	nodes, values = make([]N, len(t.Nodes)), make([]float64, len(t.Nodes))
	depths := make([]int, len(t.Nodes))
	for k := range t.Nodes {
		nd := &t.Nodes[k]
		if nd.Left < 0 {
			nodes[k], values[k] = leaf(k), nd.Value
			continue
		}
		nodes[k] = split(nd)
		depths[nd.Left], depths[nd.Right] = depths[k]+1, depths[k]+1 // children follow their parent
		depth = max(depth, depths[k]+1)
	}
	return nodes, values, depth
}

// step moves the row whose codes start at codes[off] from node k one level
// down, branch-free.
func step(nodes []flatNode, k int32, codes []uint64, off int) int32 {
	nd := &nodes[k]
	v := codes[off+int(nd.feat)] + nd.shift // wraps
	_, right := bits.Sub64(nd.bound, v, 0)  // bound < key
	return nd.left + int32(right)
}

// predictBlock adds the tree's leaf weights to margin for the rows whose
// codes are in codes (p a row), several rows at a time: their walks are
// independent, so the processor overlaps their loads.
func (f *flatTree) predictBlock(margin []float64, codes []uint64, p int) {
	n := len(margin)
	i := 0
	nodes, values := f.nodes, f.values
	for ; i+8 <= n; i += 8 {
		o := i * p
		var k0, k1, k2, k3, k4, k5, k6, k7 int32
		for range f.depth {
			k0, k1, k2, k3 = step(nodes, k0, codes, o), step(nodes, k1, codes, o+p), step(nodes, k2, codes, o+2*p), step(nodes, k3, codes, o+3*p)
			k4, k5, k6, k7 = step(nodes, k4, codes, o+4*p), step(nodes, k5, codes, o+5*p), step(nodes, k6, codes, o+6*p), step(nodes, k7, codes, o+7*p)
		}
		m := margin[i : i+8 : i+8]
		m[0] += values[k0]
		m[1] += values[k1]
		m[2] += values[k2]
		m[3] += values[k3]
		m[4] += values[k4]
		m[5] += values[k5]
		m[6] += values[k6]
		m[7] += values[k7]
	}
	for ; i < n; i++ {
		var k int32
		for range f.depth {
			k = step(nodes, k, codes, i*p)
		}
		margin[i] += values[k]
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

// oneBin reports whether every row of a feature's bins is in one bin.
func oneBin(col []uint8) bool {
	return !slices.ContainsFunc(col, func(b uint8) bool { return b != col[0] })
}

// skipOneBin leaves features whose rows are all in one bin out of the
// histograms (tests turn it off to compare).
var skipOneBin = true

// FitGBDT fits a GBDT to X (n×p row-major, NaN = missing) and 0/1 labels y.
// Xv, yv (may be nil) are the validation rows for early stopping: the model
// keeps the rounds up to the best validation log loss. Histograms are built
// across features in parallel with a fixed reduction order, so the model
// depends on the data, config and seed only.
func FitGBDT(names []string, X, y, Xv, yv []float64, cfg GBDTConfig) (*GBDT, error) {
	p := len(names)
	if err := checkRows(X, y, p); err != nil {
		return nil, err
	}
	if len(Xv) != len(yv)*p {
		return nil, fmt.Errorf("models: gbdt: validation X has %d values, want %d×%d", len(Xv), len(yv), p)
	}
	m, _, err := fitGBDT(names, matRows{X: X, p: p}, y, matRows{X: Xv, p: p}, yv, cfg)
	return m, err
}

// FitGBDTHeldOut is FitGBDT on the rows of X (n×p, n = len(y)) that held
// does not flag, with the flagged ones as the validation rows, both in
// their order in X: the same model as FitGBDT on the two parts copied out,
// without the copies.
func FitGBDTHeldOut(names []string, X, y []float64, held []bool, cfg GBDTConfig) (*GBDT, error) {
	p := len(names)
	if err := checkRows(X, y, p); err != nil {
		return nil, err
	}
	if len(held) != len(y) {
		return nil, fmt.Errorf("models: gbdt: %d held-out flags for %d rows", len(held), len(y))
	}
	in, out := matRows{X: X, p: p, idx: []int32{}}, matRows{X: X, p: p, idx: []int32{}}
	var yin, yout []float64
	for i, h := range held {
		if h {
			out.idx, yout = append(out.idx, int32(i)), append(yout, y[i])
		} else {
			in.idx, yin = append(in.idx, int32(i)), append(yin, y[i])
		}
	}
	if len(yin) == 0 {
		return nil, errors.New("models: gbdt: every row is held out")
	}
	m, _, err := fitGBDT(names, in, yin, out, yout, cfg)
	return m, err
}

// checkRows checks that X holds len(y) > 0 rows of p values.
func checkRows(X, y []float64, p int) error {
	if len(y) == 0 || len(X) != len(y)*p {
		return fmt.Errorf("models: gbdt: X has %d values, want %d×%d", len(X), len(y), p)
	}
	return nil
}

// matRows is rows of a row-major matrix X, p values a row: all of X's
// rows in order, or, when idx is not nil, X's rows idx[0], idx[1], ….
type matRows struct {
	X   []float64
	p   int
	idx []int32
}

// at returns the offset in X of row i's first value.
func (r matRows) at(i int) int {
	if r.idx != nil {
		return int(r.idx[i]) * r.p
	}
	return i * r.p
}

func (r matRows) row(i int) []float64 {
	o := r.at(i)
	return r.X[o : o+r.p : o+r.p]
}

// fitGBDT is FitGBDT on n = len(y) rows of X and len(yv) of Xv, also
// returning the training rows' margins after the last round grown (for
// the tests).
func fitGBDT(names []string, X matRows, y []float64, Xv matRows, yv []float64, cfg GBDTConfig) (*GBDT, []float64, error) {
	cfg = cfg.withDefaults()
	n, p := len(y), len(names)
	switch {
	case cfg.MaxBins < 2 || cfg.MaxBins > 255:
		return nil, nil, fmt.Errorf("models: gbdt: max bins must be 2..255, got %d", cfg.MaxBins)
	case cfg.LearningRate <= 0 || cfg.Lambda < 0 || cfg.Subsample <= 0 || cfg.Subsample > 1 || cfg.ColSample <= 0 || cfg.ColSample > 1:
		return nil, nil, errors.New("models: gbdt: need learning rate > 0, lambda ≥ 0, subsample and colsample in (0, 1]")
	}
	pos, err := binaryLabels("gbdt", y)
	if err != nil {
		return nil, nil, err
	}
	m := &GBDT{Features: slices.Clone(names), Base: math.Log(pos / (float64(n) - pos))}
	m.Thresholds = make([][]float64, p)
	bins := make([][]uint8, p)
	byRow := newRowBins(n, p)
	samples := sampleColumns(X, n, p)
	parallelEach(p, false, func(j int) {
		m.Thresholds[j] = binThresholds(samples[j], cfg.MaxBins)
		bins[j] = make([]uint8, n)
	})
	parallelRange(n, func(lo, hi int) { binRows(bins, byRow, X, lo, hi, m.Thresholds) })
	// A feature whose every row is in one bin (a constant, or missing
	// throughout) can never split a node: its histograms are not built.
	// The features are still drawn as before, then these left out, so the
	// trees are the same.
	splits := make([]bool, p)
	parallelEach(p, false, func(j int) {
		splits[j] = !skipOneBin || !oneBin(bins[j])
	})
	src := rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)
	rng := rand.New(src) // the features' shuffle; the rows' draws take src's values directly
	// A round's rows in and out of its sample, drawn while the round
	// before grows its tree (two sets of buffers, a round's each): src
	// gives its values in the same order as drawing at each round's start
	// (the rows, then the features' shuffle), so the same samples.
	var draws [2]struct{ sample, unsampled []int32 }
	draw := func(round int) (rows, dropped []int32) {
		d := &draws[round%2]
		if d.sample == nil {
			d.sample, d.unsampled = make([]int32, n), make([]int32, n)
		}
		return sampleRows(src, d.sample, d.unsampled, cfg.Subsample)
	}
	margin := make([]float64, n)
	for i := range margin {
		margin[i] = m.Base
	}
	vmargin, vloss := make([]float64, len(yv)), make([]float64, len(yv))
	for i := range vmargin {
		vmargin[i] = m.Base
	}
	// The validation rows in the training bins, walked as the training
	// rows are; unless a value is +Inf: a split at a feature's last bin
	// sends it left in the bins and right by its value (Tree.predict).
	var vbins [][]uint8
	var vrows []int32 // 0, 1, …: every validation row
	hasInf := false
	for i := 0; i < len(yv) && !hasInf; i++ {
		hasInf = slices.ContainsFunc(Xv.row(i), func(v float64) bool { return math.IsInf(v, 1) })
	}
	if len(yv) > 0 && !hasInf {
		vrows = make([]int32, len(yv))
		for i := range vrows {
			vrows[i] = int32(i)
		}
		vbins = make([][]uint8, p)
		for j := range vbins {
			vbins[j] = make([]uint8, len(yv))
		}
		parallelRange(len(yv), func(lo, hi int) { binRows(vbins, rowBins{}, Xv, lo, hi, m.Thresholds) })
	}
	g, h := make([]float64, n), make([]float64, n)
	packed := make([]int64, n) // g and h quantized, packed (see quantize)
	best, bestLoss := 0, math.Inf(1)
	type drawn struct{ rows, dropped []int32 }
	next := make(chan drawn, 1)
	var rows, dropped []int32
	for round := range cfg.Trees {
		if round == 0 {
			rows, dropped = draw(0)
		} else {
			d := <-next
			rows, dropped = d.rows, d.dropped
		}
		feats := slices.DeleteFunc(sampleFeatures(rng, p, cfg.ColSample), func(j int) bool { return !splits[j] })
		if round+1 < cfg.Trees {
			go func() {
				r, d := draw(round + 1)
				next <- drawn{r, d}
			}()
		}
		sc := gradients(packed, g, h, margin, y, rows, cfg.Seed, round)
		t, leafRows := growTree(bins, byRow, packed, g, h, sc, rows, feats, cfg)
		for k := range t.Nodes {
			if t.Nodes[k].Left >= 0 {
				t.Nodes[k].Threshold = m.Thresholds[t.Nodes[k].Feature][t.Nodes[k].bin]
			}
		}
		m.Trees = append(m.Trees, t)
		// The sampled rows' leaves are known from the growing; only the
		// others walk the tree (the same leaf either way).
		parallelEach(len(leafRows), false, func(k int) {
			for _, i := range leafRows[k] {
				margin[i] += t.Nodes[k].Value
			}
		})
		bt := t.binned()
		if len(dropped) > 0 {
			parallelRange(len(dropped), func(lo, hi int) { bt.addLeaves(margin, bins, dropped[lo:hi]) })
		}
		if len(yv) == 0 {
			best = round + 1
			continue
		}
		// The rows' losses in parallel, summed in row order: the same sum.
		parallelRange(len(yv), func(lo, hi int) {
			if vbins != nil {
				bt.addLeaves(vmargin, vbins, vrows[lo:hi])
			}
			for i := lo; i < hi; i++ {
				if vbins == nil {
					vmargin[i] += t.predict(Xv.row(i))
				}
				vloss[i] = logLoss(vmargin[i], yv[i])
			}
		})
		loss := 0.0
		for _, l := range vloss {
			loss += l
		}
		loss /= float64(len(yv))
		m.ValidLogLoss = append(m.ValidLogLoss, loss)
		if loss < bestLoss-1e-12 {
			best, bestLoss = round+1, loss
		} else if round+1-best >= cfg.EarlyStopping {
			if round+1 < cfg.Trees {
				<-next // the next round's draw, unused: no goroutine outlives the fit
			}
			break
		}
	}
	m.Trees, m.BestRound = m.Trees[:best], best
	return m, margin, nil
}

// logLoss is the logistic loss of margin s for label y.
func logLoss(s, y float64) float64 {
	if y == 1 {
		return softplus(-s)
	}
	return softplus(s)
}

// sampleColumns returns every feature's values of at most binSample rows,
// evenly strided (as sklearn's HistGradientBoosting subsamples 2·10⁵ for
// its bins: the quantiles barely move and sorting stays cheap), NaN left
// out. One pass over the rows serves every feature.
func sampleColumns(X matRows, n, p int) [][]float64 {
	const binSample = 200_000
	step := max(1, n/binSample)
	out := make([][]float64, p)
	for j := range out {
		out[j] = make([]float64, 0, min(n, binSample+1))
	}
	for i := 0; i < n; i += step {
		for j, v := range X.row(i) {
			if !math.IsNaN(v) {
				out[j] = append(out[j], v)
			}
		}
	}
	return out
}

// binThresholds returns the upper bounds of a feature's bins from a
// sample of its values (sorted in place): midpoints between distinct values
// when there are few, else distinct quantiles.
func binThresholds(vals []float64, maxBins int) []float64 {
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

// binRows writes the bins of rows lo..hi−1 of X into bins: a block of
// rows at a time, so each row's values are read from the cache, not memory,
// for every feature.
func binRows(bins [][]uint8, byRow rowBins, X matRows, lo, hi int, th [][]float64) {
	p := len(bins)
	keys := make([][]uint64, p)
	for j, tj := range th {
		keys[j] = make([]uint64, len(tj))
		for k, t := range tj {
			keys[j][k] = sortKey(t)
		}
	}
	// With AVX-512, a bin is the count of the bounds below the value's key
	// (binTable), written to both layouts at once; the binary search's
	// eight dependent steps held a value about 17.5 ns (churn train at 1M:
	// binRows 3.14 → 0.83 s of CPU, docs/BENCHMARKS.md, session 37).
	var tabs []binTable
	if haveAVX512 && !slices.ContainsFunc(keys, func(k []uint64) bool { return len(k) == 0 || len(k) > maxBinBounds }) {
		tabs = make([]binTable, p)
		for j := range tabs {
			tabs[j].set(keys[j])
		}
	}
	const block = 256 // rows: 60 KB of X at 30 features
	var at [block]int // the block's rows' offsets in X
	for b0 := lo; b0 < hi; b0 += block {
		b1 := min(b0+block, hi)
		for i := b0; i < b1; i++ {
			at[i-b0] = X.at(i)
		}
		if tabs != nil {
			touchRows(X.X, at[:b1-b0], p)
			for j := range p {
				var rows []uint8 // row b0's bin of feature j, and every stride-th after it
				if byRow.b != nil {
					rows = byRow.b[b0*byRow.stride+j : (b1-1)*byRow.stride+j+1]
				}
				binKeysAVX512(&tabs[j], X.X[j:], at[:b1-b0], bins[j][b0:b1], rows, byRow.stride)
			}
			continue
		}
		for j := range p {
			col, kj := bins[j], keys[j]
			for i := b0; i < b1; i++ {
				v := X.X[at[i-b0]+j]
				if math.IsNaN(v) {
					col[i] = missingBin
					continue
				}
				col[i] = uint8(min(lowerBound(kj, sortKey(v)), len(kj)-1)) // +Inf joins the last bin
			}
		}
		if byRow.b != nil {
			for i := b0; i < b1; i++ {
				r := byRow.b[i*byRow.stride : i*byRow.stride+p]
				for j, col := range bins {
					r[j] = col[i]
				}
			}
		}
	}
}

// maxBinBounds is the most bounds a binTable holds (binThresholds gives at
// most 255: MaxBins ≤ 255).
const maxBinBounds = 255

// binTable is a feature's bin bounds laid out for binKeysAVX512: the
// bounds' order keys padded with MaxUint64 to blocks of eight, every
// block's last key as a pivot, and the largest bin. A key's bin is the count of bounds below it (lowerBound's
// answer): the pivots below it count the blocks wholly below, and the
// block after them holds the rest.
type binTable struct {
	pivots [32]uint64               // bounds[8c+7] for block c
	last   int64                    // len(bounds) − 1
	bounds [maxBinBounds + 9]uint64 // padded to 33 blocks
}

func (t *binTable) set(keys []uint64) {
	for k := range t.bounds {
		t.bounds[k] = math.MaxUint64
	}
	copy(t.bounds[:], keys)
	for c := range t.pivots {
		t.pivots[c] = t.bounds[8*c+7]
	}
	t.last = int64(len(keys) - 1)
}

// rowBins is a row-major copy of the training bins: row i's bins of every
// feature at b[i*stride:], stride the feature count rounded up to eight
// (one cache line a row at 57–64 features). A node holding few of the
// rows sums its histograms from it: by column, each bin read is a cache
// line of its own.
type rowBins struct {
	b      []uint8
	stride int
}

func newRowBins(n, p int) rowBins {
	stride := (p + 7) &^ 7
	return rowBins{b: make([]uint8, n*stride), stride: stride}
}

// lowerBound returns the index of the first bound ≥ v (len(th) if none),
// as slices.BinarySearch on the floats whose order keys (sortKey) th holds:
// integer compares become conditional moves, not branches to mispredict.
func lowerBound(th []uint64, v uint64) int {
	base, n := 0, len(th)
	for n > 1 {
		half := n / 2
		_, less := bits.Sub64(th[base+half-1], v, 0) // 1 when th[…] < v
		base += half * int(less)
		n -= half
	}
	if n == 1 && th[base] < v {
		base++
	}
	return base
}

// sortKey maps a float (not NaN) to an integer of the same order.
func sortKey(f float64) uint64 {
	b := math.Float64bits(f + 0) // −0 → +0
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// sampleRows draws each row into the round's sample with probability
// share, in row order, and returns the sample (in in, len n) and the rows
// left out (in out, len n). The rows are those of rand.Rand.Float64() <
// share on src, one value a row, as this did before: Float64 is
// float64(u mod 2^53)/2^53, so the test is u mod 2^53 < ⌈share·2^53⌉ in
// integers (share·2^53 is exact), and src is called directly, without
// Rand's interface call; the row is written to both lists and the one it
// belongs to advances, without a branch (7.5 → 2.8 ns a row).
func sampleRows(src *rand.PCG, in, out []int32, share float64) (sample, left []int32) {
	if share >= 1 {
		for i := range in {
			in[i] = int32(i)
		}
		return in, nil
	}
	lim := uint64(math.Ceil(share * (1 << 53)))
	k, d := 0, 0
	for i := range in {
		in[k], out[d] = int32(i), int32(i)
		keep := int(((src.Uint64() & (1<<53 - 1)) - lim) >> 63) // 1 when below lim
		k += keep
		d += 1 - keep
	}
	return in[:k], out[:d]
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

// hist holds the packed quantized gradient and hessian sums (see
// quantize) per bin of every feature.
type hist [][256]int64

// growing is a node being grown: its rows and histogram.
type growing struct {
	node  int
	rows  []int32
	h     hist
	depth int
	sum   int64 // packed sums of its rows
	split splitChoice
}

type splitChoice struct {
	gain        float64
	feature     int
	bin         uint8
	missingLeft bool
	ok          bool
	left        int64 // the left child's packed sums
}

// Histograms sum quantized gradients (Shi et al. 2022, "Quantized
// training of gradient boosting decision trees", as in LightGBM 4): each
// row's g and h become integers by stochastic rounding, packed into one
// int64 — g in the high 32 bits, h ≥ 0 in the low 32 — so one integer add
// per row and feature serves both sums, exactly and in any order, and a
// bin takes 8 bytes instead of 16. The levels are as fine as the row count
// allows without overflow (2,684 for g and 5,368 for h at 800k rows; at
// most 16,384), far finer than LightGBM's default 4. Splits are found on
// these sums; leaf weights use the exact float sums of their rows.
type qscale struct{ g, h float64 } // multipliers from integer sums to float sums

func unpack(v int64) (g, h int64) {
	h = v & 0xffffffff
	return (v - h) >> 32, h
}

// gradients sets g and h, the logistic loss's gradient (in (−1, 1)) and
// hessian (in (0, ¼]) at the margin of each row in rows (a round's
// sample: no other row's are read), and packs them quantized for a tree
// of those rows, rounding stochastically by a hash of seed, round and row.
func gradients(packed []int64, g, h, margin, y []float64, rows []int32, seed uint64, round int) qscale {
	gq := gradQuant{packed: packed, g: g, h: h, y: y, key: seed ^ uint64(round+1)*0x9e3779b97f4a7c15,
		lg: float64(min(1<<14, (1<<31-1)/max(1, len(rows)))),
		lh: float64(min(1<<14, (1<<32-1)/max(1, len(rows))))}
	parallelRange(len(rows), func(lo, hi int) {
		rs, k := rows[lo:hi], 0
		if haveAVX512 { // q eight rows at a time, the same bits (sigmoid8)
			var m8, q8 [8]float64
			for ; k+8 <= len(rs); k += 8 {
				for l, i := range rs[k : k+8] {
					m8[l] = margin[i]
				}
				rare := sigmoid8(&m8, &q8)
				for l, i := range rs[k : k+8] {
					q := q8[l]
					if rare>>l&1 != 0 {
						q = 1 / (1 + math.Exp(-margin[i]))
					}
					gq.set(int(i), q)
				}
			}
		}
		for _, i := range rs[k:] {
			gq.set(int(i), 1/(1+math.Exp(-margin[i]))) // no branch: exp's overflow gives q = 0, as it should
		}
	})
	return qscale{g: 1 / gq.lg, h: 1 / (4 * gq.lh)}
}

// gradQuant sets a row's gradient, hessian and their packed quantized
// values from q = σ(margin), for gradients.
type gradQuant struct {
	packed []int64
	g, h   []float64
	y      []float64
	key    uint64
	lg, lh float64
}

func (c *gradQuant) set(i int, q float64) {
	gi, hh := q-c.y[i], q*(1-q)
	if hh < 1e-16 {
		hh = 1e-16
	}
	c.g[i], c.h[i] = gi, hh
	r := splitmix64(c.key + uint64(i))
	u1, u2 := float64(r>>32)*0x1p-32, float64(r&0xffffffff)*0x1p-32
	gq := int64(math.Floor(gi*c.lg + u1))
	hq := min(int64(math.Floor(hh*4*c.lh+u2)), int64(c.lh))
	c.packed[i] = gq<<32 + hq
}

// splitmix64 is Steele, Lea & Flood's (2014) mixing function.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// skipLeafChildren leaves out the histograms and split searches of
// children that can never split (a variable for the test that they change
// no tree).
var skipLeafChildren = true

// growTree grows one tree on the sampled rows: depth-wise (every node of a
// level) or, with MaxLeaves, leaf-wise (always the best-gain leaf). Each
// split builds the smaller child's histogram and gets the other's by
// subtraction from the parent's.
func growTree(bins [][]uint8, byRow rowBins, packed []int64, g, h []float64, sc qscale, rows []int32, feats []int, cfg GBDTConfig) (Tree, [][]int32) {
	p := len(bins)
	t := Tree{}
	var leafRows [][]int32              // by node index: the rows of each leaf
	scratch := make([]int32, len(rows)) // the right side of a partition
	root := &growing{node: 0, rows: rows, h: buildHist(bins, byRow, packed, rows, feats, p)}
	if len(feats) == 0 { // no feature can split: the root is the tree
		for _, i := range rows {
			root.sum += packed[i]
		}
	} else {
		for b := range 256 { // every row is in one bin of any feature
			root.sum += root.h[feats[0]][b]
		}
	}
	cover := func(sum int64) float64 { _, hq := unpack(sum); return float64(hq) * sc.h }
	t.Nodes = append(t.Nodes, Node{Left: -1, Cover: cover(root.sum)})
	root.split = bestSplit(root.h, feats, root.sum, sc, cfg)
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
			for len(leafRows) <= nd.node {
				leafRows = append(leafRows, nil)
			}
			leafRows[nd.node] = nd.rows
			continue
		}
		s := nd.split
		nl := partition(nd.rows, scratch[:len(nd.rows)], bins[s.feature], s)
		children := [2]*growing{{rows: nd.rows[:nl:nl]}, {rows: nd.rows[nl:]}} // [left, right]
		li := len(t.Nodes)
		n := &t.Nodes[nd.node]
		n.Feature, n.bin, n.MissingLeft, n.Left, n.Right = s.feature, s.bin, s.missingLeft, li, li+1
		children[0].sum, children[1].sum = s.left, nd.sum-s.left
		for c, ch := range children {
			ch.node, ch.depth = li+c, nd.depth+1
			t.Nodes = append(t.Nodes, Node{Left: -1, Cover: cover(ch.sum)})
			open = append(open, ch)
		}
		leaves++
		// Children that can never split (at the depth limit, or the leaf
		// budget spent) need no histograms: they only become leaves. Their
		// empty split (gain 0, not ok) changes no split: the splittable
		// nodes are still taken in the same order.
		if skipLeafChildren && (nd.depth+1 >= cfg.MaxDepth || cfg.MaxLeaves > 0 && leaves >= cfg.MaxLeaves) {
			continue
		}
		small, large := children[0], children[1]
		if len(large.rows) < len(small.rows) {
			small, large = large, small
		}
		small.h = buildHist(bins, byRow, packed, small.rows, feats, p)
		large.h = nd.h // reuse the parent's buffers for the larger child
		for _, j := range feats {
			for b := range large.h[j] {
				large.h[j][b] -= small.h[j][b]
			}
		}
		parallelEach(2, false, func(c int) { children[c].split = bestSplit(children[c].h, feats, children[c].sum, sc, cfg) })
	}
	// Leaf weights from the exact sums of their rows, leaves in parallel.
	parallelEach(len(leafRows), false, func(k int) {
		if len(leafRows[k]) == 0 && t.Nodes[k].Left >= 0 {
			return
		}
		var G, H float64
		for _, i := range leafRows[k] {
			G += g[i]
			H += h[i]
		}
		t.Nodes[k].Value = leafWeight(G, H, cfg)
	})
	return t, leafRows
}

// partition reorders rows stably, those going left (by the split's bin)
// first, and returns how many go left; scratch (len(rows)) is scratch. A
// large node is cut into chunks partitioned in parallel, then joined.
func partition(rows, scratch []int32, col []uint8, s splitChoice) int {
	var left [256]uint8 // 1 for the bins that go left
	for b := 0; b <= int(s.bin); b++ {
		left[b] = 1
	}
	if s.missingLeft {
		left[missingBin] = 1
	}
	// Branch-free: each row is written to both sides and the side it
	// belongs to advances (a data-dependent branch mispredicts half the time).
	part := func(rows, scratch []int32) int {
		nl, nr := 0, 0
		for _, i := range rows {
			l := int(left[col[i]])
			rows[nl] = i
			scratch[nr] = i
			nl += l
			nr += 1 - l
		}
		copy(rows[nl:], scratch[:nr])
		return nl
	}
	const chunk = 1 << 14
	nc := (len(rows) + chunk - 1) / chunk
	if nc < 2 {
		return part(rows, scratch)
	}
	lefts := make([]int, nc)
	parallelEach(nc, false, func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, len(rows))
		lefts[c] = part(rows[lo:hi], scratch[lo:hi])
	})
	// Each chunk is [its lefts, its rights]: gather the rights in scratch,
	// slide the lefts down, then put the rights after them.
	nl, nr := 0, 0
	for c := range nc {
		lo, hi := c*chunk, min((c+1)*chunk, len(rows))
		nr += copy(scratch[nr:], rows[lo+lefts[c]:hi])
		nl += copy(rows[nl:], rows[lo:lo+lefts[c]])
	}
	copy(rows[nl:], scratch[:nr])
	return nl
}

func leafWeight(G, H float64, cfg GBDTConfig) float64 {
	return -G / (H + cfg.Lambda) * cfg.LearningRate
}

// buildHist sums the packed gradients per bin for the given features: by
// column, one goroutine per group of features, or, for a node holding few
// of the rows, from the row-major bins (buildHistRows).
func buildHist(bins [][]uint8, byRow rowBins, packed []int64, rows []int32, feats []int, p int) hist {
	hs := make(hist, p)
	if len(rows) == len(packed) { // every row, in order (the root without subsampling)
		buildHistAll(hs, bins, packed, feats)
		return hs
	}
	if byRow.b != nil && len(rows)*sparseNode < len(packed) {
		buildHistRows(hs, byRow, packed, rows, feats)
		return hs
	}
	og := make([]int64, len(rows)) // the rows' gradients in row order: one gather, not one per feature
	gather := func(lo, hi int) {
		for k, i := range rows[lo:hi] {
			og[lo+k] = packed[i]
		}
	}
	if len(rows) < 1<<15 {
		gather(0, len(rows))
	} else {
		parallelRange(len(rows), gather)
	}
	// Eight features per pass over the rows: one load of a row's index and
	// gradients serves eight histograms (16 KB, in L1); a remainder goes by
	// four, two and one.
	const group = 8
	parallelEach((len(feats)+group-1)/group, len(rows) < 4096, func(k int) {
		fs := feats[k*group : min((k+1)*group, len(feats))]
		if len(fs) == 8 {
			c0, c1, c2, c3 := bins[fs[0]], bins[fs[1]], bins[fs[2]], bins[fs[3]]
			c4, c5, c6, c7 := bins[fs[4]], bins[fs[5]], bins[fs[6]], bins[fs[7]]
			h0, h1, h2, h3 := &hs[fs[0]], &hs[fs[1]], &hs[fs[2]], &hs[fs[3]]
			h4, h5, h6, h7 := &hs[fs[4]], &hs[fs[5]], &hs[fs[6]], &hs[fs[7]]
			for r, i := range rows {
				v := og[r]
				h0[c0[i]] += v
				h1[c1[i]] += v
				h2[c2[i]] += v
				h3[c3[i]] += v
				h4[c4[i]] += v
				h5[c5[i]] += v
				h6[c6[i]] += v
				h7[c7[i]] += v
			}
			return
		}
		for len(fs) >= 4 {
			c0, c1, c2, c3 := bins[fs[0]], bins[fs[1]], bins[fs[2]], bins[fs[3]]
			h0, h1, h2, h3 := &hs[fs[0]], &hs[fs[1]], &hs[fs[2]], &hs[fs[3]]
			for r, i := range rows {
				v := og[r]
				h0[c0[i]] += v
				h1[c1[i]] += v
				h2[c2[i]] += v
				h3[c3[i]] += v
			}
			fs = fs[4:]
		}
		for len(fs) >= 2 {
			c0, c1, h0, h1 := bins[fs[0]], bins[fs[1]], &hs[fs[0]], &hs[fs[1]]
			for r, i := range rows {
				v := og[r]
				h0[c0[i]] += v
				h1[c1[i]] += v
			}
			fs = fs[2:]
		}
		if len(fs) == 1 {
			col, hj := bins[fs[0]], &hs[fs[0]]
			for r, i := range rows {
				hj[col[i]] += og[r]
			}
		}
	})
	return hs
}

// sparseNode: a node holding under 1/sparseNode of the rows sums its
// histograms from the row-major bins. Measured on 1.8M rows of 63
// features, 50 sampled (BenchmarkHistSparse, 2 cores, ns an add): at 1/16
// of the rows 0.74–1.08 by row against 0.74–0.81 by column; 1/32 0.64
// against 1.2; 1/64 0.60 against 2.2; 1/256 0.76 against 4.9.
var sparseNode = 16

// rowBlock rows are copied at a time by buildHistRows.
const rowBlock = 256

// buildHistRows is buildHist from the row-major bins: a row's bins of
// every feature in one cache line, where by column each feature's bin is
// a cache miss of its own. Rows are first copied a block at a time: the
// copies' loads overlap, where the fifty adds after each row's load would
// keep every miss waiting alone. Large nodes split their rows between two
// histograms, one a core, added up after (integers: the same sums).
func buildHistRows(hs hist, byRow rowBins, packed []int64, rows []int32, feats []int) {
	sum := func(hs hist, rows []int32) {
		n4 := len(feats) &^ 3
		fs4, rest := feats[:n4], feats[n4:]
		st := byRow.stride
		buf := make([]uint8, rowBlock*st)
		var vs [rowBlock]int64
		for lo := 0; lo < len(rows); lo += rowBlock {
			blk := rows[lo:min(lo+rowBlock, len(rows))]
			for k, i := range blk {
				copy(buf[k*st:(k+1)*st], byRow.b[int(i)*st:int(i)*st+st])
				vs[k] = packed[i]
			}
			for k := range blk {
				v := vs[k]
				r := buf[k*st : (k+1)*st]
				for q := 0; q < len(fs4); q += 4 {
					f0, f1, f2, f3 := fs4[q], fs4[q+1], fs4[q+2], fs4[q+3]
					hs[f0][r[f0]] += v
					hs[f1][r[f1]] += v
					hs[f2][r[f2]] += v
					hs[f3][r[f3]] += v
				}
				for _, f := range rest {
					hs[f][r[f]] += v
				}
			}
		}
	}
	if len(rows) < 4096 {
		sum(hs, rows)
		return
	}
	other := make(hist, len(hs))
	half := len(rows) / 2
	parallelEach(2, false, func(c int) {
		if c == 0 {
			sum(hs, rows[:half])
		} else {
			sum(other, rows[half:])
		}
	})
	for _, f := range feats {
		for b := range hs[f] {
			hs[f][b] += other[f][b]
		}
	}
}

// buildHistAll is buildHist for every row: no row index to follow, and
// the bins are read in order.
func buildHistAll(hs hist, bins [][]uint8, packed []int64, feats []int) {
	parallelEach((len(feats)+1)/2, false, func(k int) {
		fs := feats[2*k : min(2*k+2, len(feats))]
		if len(fs) == 1 {
			col, hj := bins[fs[0]], &hs[fs[0]]
			for i, v := range packed {
				hj[col[i]] += v
			}
			return
		}
		c0, c1, h0, h1 := bins[fs[0]], bins[fs[1]], &hs[fs[0]], &hs[fs[1]]
		c0, c1 = c0[:len(packed)], c1[:len(packed)]
		for i, v := range packed {
			h0[c0[i]] += v
			h1[c1[i]] += v
		}
	})
}

// bestSplit scans every feature's bins for the split with the largest gain
// ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ, trying the missing values
// on either side. Ties go to the lower feature index and bin.
func bestSplit(hs hist, feats []int, sum int64, sc qscale, cfg GBDTConfig) splitChoice {
	score := func(g, h float64) float64 { return g * g / (h + cfg.Lambda) }
	gq, hq := unpack(sum)
	G, H := float64(gq)*sc.g, float64(hq)*sc.h
	parent := score(G, H)
	results := make([]splitChoice, len(feats))
	parallelEach(len(feats), true, func(k int) { // 255 bins a feature: cheaper than goroutines
		j := feats[k]
		hj := &hs[j]
		missing := hj[missingBin]
		best := splitChoice{feature: j}
		var acc int64
		for b := 0; b < missingBin; b++ {
			if hj[b] == 0 {
				continue // an empty bin (or one summing to zero) splits as its predecessor did
			}
			acc += hj[b]
			for _, ml := range [2]bool{false, true} {
				left := acc
				if ml {
					left += missing
				}
				lg, lh := unpack(left)
				GL, HL := float64(lg)*sc.g, float64(lh)*sc.h
				GR, HR := G-GL, H-HL
				if HL < cfg.MinChildWeight || HR < cfg.MinChildWeight {
					continue
				}
				gain := (score(GL, HL)+score(GR, HR)-parent)/2 - cfg.MinGain
				if gain > best.gain+1e-12 {
					best = splitChoice{gain: gain, feature: j, bin: uint8(b), missingLeft: ml, ok: true, left: left}
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

// binNode is a split packed for walking binned rows, as flatNode is for
// keys: a row goes right when (bin + shift) mod 256 > bound. Missing
// values (missingBin) go right, or with shift 1 wrap to 0 and go left; a
// leaf points to itself with bound 255.
type binNode struct {
	left         int32
	feat         int32
	shift, bound uint8
}

// binnedTree is a tree packed for binned rows: nodes, leaf weights by
// node, and depth.
type binnedTree struct {
	nodes  []binNode
	values []float64
	depth  int
}

func (t *Tree) binned() binnedTree {
	nodes, values, depth := packTree(t, func(k int) binNode { return binNode{left: int32(k), bound: 255} }, func(nd *Node) binNode {
		var shift uint8
		if nd.MissingLeft {
			shift = 1
		}
		return binNode{left: int32(nd.Left), feat: int32(nd.Feature), shift: shift, bound: nd.bin + shift} // bin ≤ 254
	})
	return binnedTree{nodes: nodes, values: values, depth: depth}
}

// binStep moves row i from node k one level down, branch-free.
func binStep(nodes []binNode, bins [][]uint8, k int32, i int) int32 {
	nd := &nodes[k]
	v := bins[nd.feat][i] + nd.shift // wraps
	return nd.left + int32((uint32(nd.bound)-uint32(v))>>31)
}

// addLeaves adds the tree's leaf weight to margin[i] for each row i in
// rows, four rows walking at a time (their loads overlap).
func (f *binnedTree) addLeaves(margin []float64, bins [][]uint8, rows []int32) {
	nodes, values := f.nodes, f.values
	k := 0
	for ; k+4 <= len(rows); k += 4 {
		i0, i1, i2, i3 := int(rows[k]), int(rows[k+1]), int(rows[k+2]), int(rows[k+3])
		var n0, n1, n2, n3 int32
		for range f.depth {
			n0, n1 = binStep(nodes, bins, n0, i0), binStep(nodes, bins, n1, i1)
			n2, n3 = binStep(nodes, bins, n2, i2), binStep(nodes, bins, n3, i3)
		}
		margin[i0] += values[n0]
		margin[i1] += values[n1]
		margin[i2] += values[n2]
		margin[i3] += values[n3]
	}
	for _, r := range rows[k:] {
		i := int(r)
		var nd int32
		for range f.depth {
			nd = binStep(nodes, bins, nd, i)
		}
		margin[i] += values[nd]
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
	const block = 8192
	flat := make([]flatTree, len(m.Trees))
	for k := range m.Trees {
		flat[k] = m.Trees[k].flat()
	}
	chunkedSum(len(out), block, 0, nil, func(lo, hi int, _ []float64) float64 {
		// Sub-blocks small enough for their keys to stay in the L1 cache
		// while every tree walks them.
		const sub = 128
		codes := make([]uint64, sub*p)
		for s := lo; s < hi; s += sub {
			e := min(s+sub, hi)
			encodeKeys(codes, X, s, e, p)
			margin := out[s:e]
			for i := range margin {
				margin[i] = m.Base
			}
			for k := range flat {
				flat[k].predictBlock(margin, codes, p)
			}
		}
		margin := out[lo:hi]
		for i := range margin {
			margin[i] = sigmoid(margin[i])
		}
		return 0
	})
	return out
}
