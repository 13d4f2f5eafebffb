package models

import "math"

// Fast TreeSHAP v2 (Yang 2021, "Fast TreeSHAP: Accelerating SHAP value
// computation for trees"): for a leaf whose path holds the distinct
// features P (m of them), each feature's share of the leaf's value depends
// only on which features of P the row satisfies (its "hot" subset S), so
// it is tabulated once per leaf for all 2^m subsets:
//
//	φ_i = v · (o_i − z_i) · Σ_{U ⊆ P∖{i}} |U|!(m−1−|U|)!/m! · Π_{j∈U} o_j · Π_{j∈P∖{i}∖U} z_j
//
// with z_j the product of the cover fractions of feature j's splits on the
// path and o_j ∈ {0, 1} whether the row meets all of them (Lundberg, Erion
// & Lee 2018). A row then costs a mask and m additions per leaf instead of
// the O(D²) path recursion. Trees with a leaf of more than
// maxTableFeatures distinct path features keep the recursion (a variable
// for the tests).
var maxTableFeatures = 10

// shapLeaf is one leaf's table.
type shapLeaf struct {
	feats []int      // the distinct path features
	conds []shapCond // the path's splits, root first
	table []float64  // [mask][slot] contributions, mask bit s = feats[s] hot
	// For trees of at most 63 nodes, per slot: the path's nodes that split
	// on the slot's feature (bit k = node k) and the side the path takes at
	// each (bit set = left). The slot is hot when the row goes the path's
	// way at all of them.
	slotNodes, slotLeft []uint64
}

// shapCond is a split on a leaf's path: the row meets it when it goes to
// the child on the path (left when left is set).
type shapCond struct {
	node, slot int
	left       bool
}

// shapTables holds a tree's leaf tables; ok is false when a leaf is too
// deep to tabulate (the recursion explains that tree). Trees of at most 63
// nodes (bits) are explained from bit sets of the row's decisions.
type shapTables struct {
	leaves []shapLeaf
	ok     bool
	bits   bool
	splits []shapSplit // the tree's split nodes, when bits
}

// shapSplit is a split node: the row goes left when x[feat] ≤ thr, or when
// x[feat] is missing and missingLeft.
type shapSplit struct {
	thr         float64
	feat        int32
	node        uint8
	missingLeft bool
}

func (t *Tree) shapTables() shapTables {
	st := shapTables{ok: true}
	var walk func(k int, conds []shapCond, feats []int, zero []float64)
	walk = func(k int, conds []shapCond, feats []int, zero []float64) {
		if !st.ok {
			return
		}
		nd := &t.Nodes[k]
		if nd.Left < 0 {
			if len(feats) > maxTableFeatures {
				st.ok = false
				return
			}
			st.leaves = append(st.leaves, shapLeaf{feats: append([]int(nil), feats...), conds: append([]shapCond(nil), conds...),
				table: leafTable(zero, nd.Value)})
			return
		}
		cover := t.Nodes[nd.Left].Cover + t.Nodes[nd.Right].Cover
		for _, child := range [2]int{nd.Left, nd.Right} {
			slot := -1
			for s, f := range feats {
				if f == nd.Feature {
					slot = s
				}
			}
			f2, z2 := feats, zero
			if slot < 0 {
				slot = len(feats)
				f2 = append(append([]int(nil), feats...), nd.Feature)
				z2 = append(append([]float64(nil), zero...), 1)
			} else {
				z2 = append([]float64(nil), zero...)
			}
			z2[slot] *= t.Nodes[child].Cover / cover
			walk(child, append(append([]shapCond(nil), conds...), shapCond{node: k, slot: slot, left: child == nd.Left}), f2, z2)
		}
	}
	walk(0, nil, nil, nil)
	if st.ok && len(t.Nodes) <= 63 {
		st.bits = true
		for k, nd := range t.Nodes {
			if nd.Left >= 0 {
				st.splits = append(st.splits, shapSplit{thr: nd.Threshold, feat: int32(nd.Feature), node: uint8(k), missingLeft: nd.MissingLeft})
			}
		}
		for l := range st.leaves {
			lf := &st.leaves[l]
			lf.slotNodes, lf.slotLeft = make([]uint64, len(lf.feats)), make([]uint64, len(lf.feats))
			for _, c := range lf.conds {
				lf.slotNodes[c.slot] |= 1 << c.node
				if c.left {
					lf.slotLeft[c.slot] |= 1 << c.node
				}
			}
		}
	}
	return st
}

// leafTable tabulates the contributions of a leaf of value v whose
// distinct path features have zero fractions z, for every hot subset.
func leafTable(z []float64, v float64) []float64 {
	m := len(z)
	table := make([]float64, (1<<m)*m)
	if m == 0 {
		return table
	}
	// W[k] = k!(m−1−k)!/m!
	W := make([]float64, m)
	for k := range W {
		W[k] = math.Exp(lgamma(k+1) + lgamma(m-k) - lgamma(m+1))
	}
	poly := make([]float64, m)
	for mask := range 1 << m {
		for i := range m {
			// Π_{j≠i} (z_j + o_j t): coefficient k sums the subsets U of
			// hot features of size k.
			clear(poly)
			poly[0] = 1
			deg := 0
			for j := range m {
				if j == i {
					continue
				}
				o := float64(mask >> j & 1)
				for k := deg + 1; k >= 1; k-- {
					poly[k] = poly[k]*z[j] + poly[k-1]*o
				}
				poly[0] *= z[j]
				deg++
			}
			sum := 0.0
			for k := 0; k <= deg; k++ {
				sum += W[k] * poly[k]
			}
			oi := float64(mask >> i & 1)
			table[mask*m+i] = v * (oi - z[i]) * sum
		}
	}
	return table
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// explain adds the tree's contributions for row x to phi; left is scratch
// (len(t.Nodes)).
func (st *shapTables) explain(t *Tree, phi, x []float64, left []bool) {
	if st.bits {
		st.explainBits(phi, x)
		return
	}
	for k := range t.Nodes {
		nd := &t.Nodes[k]
		if nd.Left >= 0 {
			v := x[nd.Feature]
			left[k] = math.IsNaN(v) && nd.MissingLeft || !math.IsNaN(v) && v <= nd.Threshold
		}
	}
	for l := range st.leaves {
		lf := &st.leaves[l]
		m := len(lf.feats)
		mask := 1<<m - 1
		for _, c := range lf.conds {
			if left[c.node] != c.left {
				mask &^= 1 << c.slot
			}
		}
		row := lf.table[mask*m : (mask+1)*m]
		for s, f := range lf.feats {
			phi[f] += row[s]
		}
	}
}

// explainBits is explain for trees of at most 63 nodes: the row's
// decisions are one bit set, and a leaf's hot slots come from a mask test
// per slot without branches. The contributions are added in the same order
// as explain's, so the sums are the same to the bit.
func (st *shapTables) explainBits(phi, x []float64) {
	var goLeft uint64
	for _, sp := range st.splits {
		v := x[sp.feat]
		if v <= sp.thr || v != v && sp.missingLeft {
			goLeft |= 1 << sp.node
		}
	}
	for l := range st.leaves {
		lf := &st.leaves[l]
		m := len(lf.feats)
		mask := 0
		for s, nodes := range lf.slotNodes {
			// off is 0 exactly when the row goes the path's way at every
			// node of the slot; bit 63 is never set (node < 63), so
			// (off−1)>>63 is 1 then and 0 otherwise.
			off := (goLeft ^ lf.slotLeft[s]) & nodes
			mask |= int((off-1)>>63) << s
		}
		row := lf.table[mask*m : (mask+1)*m]
		for s, f := range lf.feats {
			phi[f] += row[s]
		}
	}
}
