package models

import "math"

// Contributions writes into dst (len p) the exact SHAP values of row x on
// the log-odds scale — path-dependent TreeSHAP (Lundberg, Erion & Lee 2018,
// Algorithm 2), with node covers (hessian sums) as the conditional
// expectations — and returns the expected margin E[f] they start from:
// Margin(x) = E[f] + Σ_j dst[j].
func (m *GBDT) Contributions(dst, x []float64) float64 {
	e := m.prepareShap()
	clear(dst)
	var path []pathElement
	left := make([]bool, m.shapNodes)
	keys := make([]uint64, len(x))
	encodeKeys(keys, x, 0, 1, len(x))
	for k := range m.Trees {
		if m.shapTabs[k].ok {
			m.shapTabs[k].explain(&m.Trees[k], dst, x, keys, left)
			continue
		}
		if path == nil {
			path = make([]pathElement, (m.shapDepth+2)*(m.shapDepth+3)/2)
		}
		m.Trees[k].shap(dst, x, path, 0, 0, 1, 1, -1)
	}
	return e
}

// prepareShap tabulates the trees for TreeSHAP, once, and returns E[f].
func (m *GBDT) prepareShap() float64 {
	m.shapOnce.Do(func() {
		m.shapExpected = m.Base
		m.shapTabs = make([]shapTables, len(m.Trees))
		m.shapAllVec = true
		for k := range m.Trees {
			m.shapDepth = max(m.shapDepth, m.Trees[k].depth(0))
			m.shapNodes = max(m.shapNodes, len(m.Trees[k].Nodes))
			m.shapExpected += m.Trees[k].expected(0)
			m.shapTabs[k] = m.Trees[k].shapTables()
			m.shapAllVec = m.shapAllVec && m.shapTabs[k].bits && m.shapTabs[k].vec
		}
	})
	return m.shapExpected
}

// ContributionsBatch is Contributions for the rows of X (n×p, row-major),
// written to dst (n×p); it returns E[f]. Trees go in the outer loop, so a
// tree's leaf tables stay in the cache while every row of the batch uses
// them (row by row, each table is a cache miss): batches of a few hundred
// rows are several times faster.
func (m *GBDT) ContributionsBatch(dst, X []float64) float64 {
	p := len(m.Features)
	n := len(X) / p
	if n == 0 {
		return m.Contributions(make([]float64, p), make([]float64, p))
	}
	if m.ExplainPredicts() {
		m.explainBlocks(dst, nil, X, p)
		return m.shapExpected
	}
	e := m.Contributions(dst[:p], X[:p]) // row 0
	clear(dst[p:])
	left := make([]bool, m.shapNodes)
	keys := make([]uint64, n*p)
	encodeKeys(keys, X, 0, n, p)
	var path []pathElement
	var sc shapScratch8
	for k := range m.Trees {
		tab := &m.shapTabs[k]
		if !tab.ok && path == nil {
			path = make([]pathElement, (m.shapDepth+2)*(m.shapDepth+3)/2)
		}
		i := 1
		if tab.bits {
			for ; i+8 <= n; i += 8 {
				tab.explainKeys8(dst[i*p:(i+8)*p], keys[i*p:(i+8)*p], p, &sc)
			}
		}
		for ; i < n; i++ {
			phi, x := dst[i*p:(i+1)*p], X[i*p:(i+1)*p]
			if tab.ok {
				tab.explain(&m.Trees[k], phi, x, keys[i*p:(i+1)*p], left)
			} else {
				m.Trees[k].shap(phi, x, path, 0, 0, 1, 1, -1)
			}
		}
	}
	return e
}

// ExplainPredicts is whether ExplainPredictBatch takes its predictions
// from the explaining pass: AVX-512 and every tree for its kernel.
func (m *GBDT) ExplainPredicts() bool {
	m.prepareShap()
	return haveAVX512 && m.shapAllVec
}

// ExplainPredictBatch is ContributionsBatch that also writes PredictAll(X)
// to pred: in the same pass over the trees when ExplainPredicts, as each
// block's kernel finds the leaf every row reaches (the same margins, summed
// in tree order from Base, the same bits), else by PredictAll.
func (m *GBDT) ExplainPredictBatch(dst, pred, X []float64) float64 {
	if m.ExplainPredicts() {
		m.explainBlocks(dst, pred, X, len(m.Features))
		return m.shapExpected
	}
	e := m.ContributionsBatch(dst, X)
	copy(pred, m.PredictAll(X))
	return e
}

// explainBlocks writes the contributions of the rows of X (n×p, row-major)
// into dst (n×p) with explainKeys8AVX512, every tree being one for it, and
// their predictions (PredictAll's) into pred unless it is nil. The rows go
// in blocks of eight, the last one padded with rows of zero keys whose
// results are dropped, each block's keys and contributions feature-major
// (a feature's eight values are one vector). Trees go in the outer loop,
// as in ContributionsBatch.
func (m *GBDT) explainBlocks(dst, pred, X []float64, p int) {
	n := len(X) / p
	dst = dst[:n*p]
	keys := make([]uint64, n*p)
	encodeKeys(keys, X, 0, n, p)
	size := (n + 7) / 8 * 8 * p
	keysT := make([]uint64, size)
	for b := 0; b < len(keys); b += 8 * p {
		src := keys[b:min(len(keys), b+8*p)]
		if len(src) < 8*p {
			src = append(src[:len(src):len(src)], make([]uint64, 8*p-len(src))...)
		}
		transpose8(keysT[b:b+8*p], src, p)
	}
	phiT := make([]float64, size)
	margins := make([][8]float64, size/(8*p))
	for b := range margins {
		margins[b] = [8]float64{m.Base, m.Base, m.Base, m.Base, m.Base, m.Base, m.Base, m.Base}
	}
	var sc shapScratch8
	for k := range m.Trees {
		bits := &m.shapTabs[k].shapBits
		for b := 0; b < size; b += 8 * p {
			explainKeys8AVX512(bits, phiT[b:b+8*p], keysT[b:b+8*p], &sc, &margins[b/(8*p)])
		}
	}
	for i := range pred[:min(len(pred), n)] {
		pred[i] = sigmoid(margins[i/8][i%8])
	}
	for b := 0; b < len(dst); b += 8 * p {
		rows := min(8, (len(dst)-b)/p)
		for r := range rows {
			row := dst[b+r*p : b+(r+1)*p]
			for f := range row {
				row[f] = phiT[b+f*8+r]
			}
		}
	}
}

// transpose8 writes eight rows of p values (src, row-major) feature-major
// into dst: dst[f*8+r] = src[r*p+f].
func transpose8(dst, src []uint64, p int) {
	for r := range 8 {
		for f, v := range src[r*p : (r+1)*p] {
			dst[f*8+r] = v
		}
	}
}

// contributionsRecursive is Contributions by the path recursion alone
// (Lundberg, Erion & Lee 2018, Algorithm 2), for testing the tables.
func (m *GBDT) contributionsRecursive(dst, x []float64) float64 {
	clear(dst)
	depth := 0
	e := m.Base
	for k := range m.Trees {
		depth = max(depth, m.Trees[k].depth(0))
		e += m.Trees[k].expected(0)
	}
	path := make([]pathElement, (depth+2)*(depth+3)/2)
	for k := range m.Trees {
		m.Trees[k].shap(dst, x, path, 0, 0, 1, 1, -1)
	}
	return e
}

type pathElement struct {
	feature           int
	zero, one, weight float64
}

func (t *Tree) depth(k int) int {
	nd := &t.Nodes[k]
	if nd.Left < 0 {
		return 0
	}
	return 1 + max(t.depth(nd.Left), t.depth(nd.Right))
}

// expected is the cover-weighted mean leaf weight below node k.
func (t *Tree) expected(k int) float64 {
	nd := &t.Nodes[k]
	if nd.Left < 0 {
		return nd.Value
	}
	l, r := &t.Nodes[nd.Left], &t.Nodes[nd.Right]
	return (l.Cover*t.expected(nd.Left) + r.Cover*t.expected(nd.Right)) / (l.Cover + r.Cover)
}

// shap is the recursion of TreeSHAP: path holds, from index 0, the unique
// path of the parent (depth elements) followed by free space for the
// children's copies.
func (t *Tree) shap(phi, x []float64, parentPath []pathElement, k, depth int, zero, one float64, feature int) {
	path := parentPath[depth+1:]
	copy(path, parentPath[:depth+1])
	extendPath(path, depth, zero, one, feature)
	nd := &t.Nodes[k]
	if nd.Left < 0 {
		for i := 1; i <= depth; i++ {
			w := unwoundPathSum(path, depth, i)
			el := &path[i]
			phi[el.feature] += w * (el.one - el.zero) * nd.Value
		}
		return
	}
	hot, cold := nd.Right, nd.Left
	if v := x[nd.Feature]; math.IsNaN(v) && nd.MissingLeft || v <= nd.Threshold {
		hot, cold = nd.Left, nd.Right
	}
	cover := t.Nodes[hot].Cover + t.Nodes[cold].Cover
	hotZero, coldZero := t.Nodes[hot].Cover/cover, t.Nodes[cold].Cover/cover
	inZero, inOne := 1.0, 1.0
	// A feature met before on this path: undo that split to redo it here.
	for i := 0; i <= depth; i++ {
		if path[i].feature == nd.Feature {
			inZero, inOne = path[i].zero, path[i].one
			unwindPath(path, depth, i)
			depth--
			break
		}
	}
	t.shap(phi, x, path, hot, depth+1, hotZero*inZero, inOne, nd.Feature)
	t.shap(phi, x, path, cold, depth+1, coldZero*inZero, 0, nd.Feature)
}

func extendPath(path []pathElement, depth int, zero, one float64, feature int) {
	path[depth] = pathElement{feature: feature, zero: zero, one: one}
	if depth == 0 {
		path[depth].weight = 1
	}
	inv := recip(depth + 1)
	for i := depth - 1; i >= 0; i-- {
		w := path[i].weight * inv
		path[i+1].weight += one * w * float64(i+1)
		path[i].weight = zero * w * float64(depth-i)
	}
}

func unwindPath(path []pathElement, depth, index int) {
	one, zero := path[index].one, path[index].zero
	next := path[depth].weight
	for i := depth - 1; i >= 0; i-- {
		if one != 0 {
			tmp := path[i].weight
			path[i].weight = next * float64(depth+1) / (float64(i+1) * one)
			next = tmp - path[i].weight*zero*float64(depth-i)/float64(depth+1)
		} else {
			path[i].weight = path[i].weight * float64(depth+1) / (zero * float64(depth-i))
		}
	}
	for i := index; i < depth; i++ {
		path[i].feature, path[i].zero, path[i].one = path[i+1].feature, path[i+1].zero, path[i+1].one
	}
}

func unwoundPathSum(path []pathElement, depth, index int) float64 {
	// The hot loop of TreeSHAP: divisions by small integers are
	// multiplications by a table of reciprocals, the branch is hoisted.
	one, zero := path[index].one, path[index].zero
	d1 := float64(depth + 1)
	total := 0.0
	if one != 0 {
		next := path[depth].weight
		scale := d1 / one
		zd := zero / d1
		for i := depth - 1; i >= 0; i-- {
			tmp := next * scale * recip(i+1)
			total += tmp
			next = path[i].weight - tmp*zd*float64(depth-i)
		}
		return total
	}
	scale := d1 / zero
	for i := depth - 1; i >= 0; i-- {
		total += path[i].weight * scale * recip(depth-i)
	}
	return total
}

// reciprocals[k] = 1/k for the path lengths TreeSHAP meets.
var reciprocals = func() [128]float64 {
	var r [128]float64
	for k := 1; k < len(r); k++ {
		r[k] = 1 / float64(k)
	}
	return r
}()

func recip(k int) float64 {
	if k < len(reciprocals) {
		return reciprocals[k]
	}
	return 1 / float64(k)
}
