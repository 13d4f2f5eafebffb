package models

import (
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

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
}

// shapCond is a split on a leaf's path: the row meets it when it goes to
// the child on the path (left when left is set).
type shapCond struct {
	node, slot int
	left       bool
}

// shapTables holds a tree's leaf tables; ok is false when a leaf is too
// deep to tabulate (the recursion explains that tree). Trees of at most 63
// nodes (bits) are explained from the rows' order keys by explainKeys.
type shapTables struct {
	leaves []shapLeaf
	ok     bool
	bits   bool
	shapBits
}

// shapBits is a tree of at most 63 nodes packed for explainKeys.
type shapBits struct {
	splits []keySplit // the split nodes
	// forks are the split nodes, parents before children: a child's hot
	// mask is its parent's with the parent's feature (slot) added when new
	// to the path, and cleared when the row goes the other way there.
	forks      []shapFork
	leafNode   []uint8   // each leaf's node, in leaf order
	leafFull   []uint32  // each leaf's mask when every path feature is hot: the row reaches it
	leafValue  []float64 // each leaf's value
	leafBase   []int32   // where each leaf's table starts in flat
	leafStride []int32   // each leaf's table row length: its number of path features, at least 8
	flat       []float64 // the leaf tables, one after another; 64-byte aligned
	// feats are the tree's features; feature feats[i]'s contributions are
	// uses[useEnd[i−1]:useEnd[i]], in leaf order.
	feats  []int32
	useEnd []int32
	uses   []shapUse
	// vec is whether explainKeys8AVX512 can explain the tree: every leaf
	// has at most eight path features, so a leaf's table row (eight places,
	// leafStride) is one vector. The tree's features then go in groups of
	// eight: vecOff holds their byte offsets in a block (feature × 64), the
	// last group padded with its first feature's; group g's steps are
	// ops[opEnd[g−1]:opEnd[g]], in leaf order.
	vec    bool
	vecOff []int32
	ops    []shapOp
	opEnd  []int32
}

// shapOp adds a leaf's contributions to one group of eight features: lane
// i (set in lanes) gets slot idx[i] of the row's table row of the leaf.
type shapOp struct {
	idx   [8]uint8
	leaf  uint8
	lanes uint8
}

// keySplit is a split node on order keys, as flatNode: the row goes right
// when (key + shift) mod 2⁶⁴ > bound.
type keySplit struct {
	bound, shift uint64
	feat         int32
	node         uint8
}

// shapFork is a split node (parent) and the step to its children, left
// and left+1.
type shapFork struct {
	parent, left, slot uint8
	newSlot            uint32 // 1<<slot when the parent's feature is new to the path, else 0
	slotBit            uint32 // 1<<slot
	// parentOff and leftOff are parent's and left's rows of
	// shapScratch8.mask, in bytes (explainKeys8AVX512).
	parentOff, leftOff uint16
}

// shapEdge is the step from a split node (parent) to its child node.
type shapEdge struct {
	slot    uint8
	newSlot uint32
}

// shapUse is one of a feature's contributions: slot of leaf's table row.
type shapUse struct{ leaf, slot uint8 }

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
		st.bits, st.shapBits = t.packBits(st.leaves)
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

// aligned64 returns n zeros starting on a 64-byte boundary (a cache
// line); the garbage collector does not move them.
func aligned64(n int) []float64 {
	buf := make([]float64, n+7)
	off := int(-uintptr(unsafe.Pointer(&buf[0])) % 64 / 8)
	return buf[off : off+n : off+n]
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// explain adds the tree's contributions for row x, whose order keys are
// keys, to phi; left is scratch (len(t.Nodes)).
func (st *shapTables) explain(t *Tree, phi, x []float64, keys []uint64, left []bool) {
	if st.bits {
		st.explainKeys(phi, keys)
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

// packBits packs a tree of at most 63 nodes for explainKeys; ok is false
// when a child does not follow its parent in Nodes.
func (t *Tree) packBits(leaves []shapLeaf) (ok bool, b shapBits) {
	for k, nd := range t.Nodes {
		if nd.Left < 0 {
			continue
		}
		if nd.Left <= k || nd.Right != nd.Left+1 {
			return false, shapBits{}
		}
		shift := uint64(0)
		if nd.MissingLeft {
			shift = 1
		}
		b.splits = append(b.splits, keySplit{bound: sortKey(nd.Threshold) + shift, shift: shift, feat: int32(nd.Feature), node: uint8(k)})
	}
	edges := make([]shapEdge, len(t.Nodes))
	has := make([]bool, len(t.Nodes))
	uses := map[int][]shapUse{}
	for l, lf := range leaves {
		node, seen := 0, uint32(0)
		for _, c := range lf.conds {
			nd := &t.Nodes[c.node]
			child := nd.Right
			if c.left {
				child = nd.Left
			}
			e := shapEdge{slot: uint8(c.slot)}
			if seen&(1<<c.slot) == 0 {
				e.newSlot = 1 << c.slot
				seen |= 1 << c.slot
			}
			edges[child], has[child], node = e, true, child
		}
		b.leafNode = append(b.leafNode, uint8(node))
		// A table row of at most eight values takes eight places, so the
		// vector explainKeys8AVX512 reads from its start is one cache line.
		m, stride := len(lf.feats), max(len(lf.feats), 8)
		b.leafFull = append(b.leafFull, 1<<m-1)
		b.leafValue = append(b.leafValue, t.Nodes[node].Value)
		b.leafBase = append(b.leafBase, int32(len(b.flat)))
		b.leafStride = append(b.leafStride, int32(stride))
		for k := 0; k < len(lf.table); k += m {
			b.flat = append(b.flat, lf.table[k:k+m]...)
			b.flat = append(b.flat, make([]float64, stride-m)...)
		}
		for s, f := range lf.feats {
			if uses[f] == nil {
				b.feats = append(b.feats, int32(f))
			}
			uses[f] = append(uses[f], shapUse{leaf: uint8(l), slot: uint8(s)})
		}
	}
	for k, nd := range t.Nodes {
		if nd.Left >= 0 && has[nd.Left] { // both children share the parent's slot
			e := edges[nd.Left]
			b.forks = append(b.forks, shapFork{parent: uint8(k), left: uint8(nd.Left), slot: e.slot, newSlot: e.newSlot, slotBit: 1 << e.slot,
				parentOff: uint16(k * 32), leftOff: uint16(nd.Left * 32)})
		}
	}
	for _, f := range b.feats {
		b.uses = append(b.uses, uses[int(f)]...)
		b.useEnd = append(b.useEnd, int32(len(b.uses)))
	}
	b.packVec(leaves)
	return true, b
}

// packVec sets vec, vecOff, ops and opEnd (explainKeys8AVX512's layout of
// the tree), and moves flat to a 64-byte boundary.
func (b *shapBits) packVec(leaves []shapLeaf) {
	flat := aligned64(len(b.flat))
	copy(flat, b.flat)
	b.flat = flat
	b.vec = !slices.ContainsFunc(leaves, func(lf shapLeaf) bool { return len(lf.feats) > 8 })
	if !b.vec {
		return
	}
	groups := groupFeatures(b.feats, leaves)
	lane := map[int]int{} // feature → its group g and lane i: 8g + i
	for k, f := range groups {
		lane[int(f)] = k
	}
	for g := 0; g < len(groups); g += 8 {
		for i := g; i < g+8; i++ {
			f := groups[g] // padding: the group's first feature
			if i < len(groups) && groups[i] >= 0 {
				f = groups[i]
			}
			b.vecOff = append(b.vecOff, f*64)
		}
		for l, lf := range leaves {
			var op shapOp
			for s, f := range lf.feats {
				if i := lane[f] - g; i >= 0 && i < 8 {
					op.idx[i], op.lanes = uint8(s), op.lanes|1<<i
				}
			}
			if op.lanes != 0 {
				op.leaf = uint8(l)
				b.ops = append(b.ops, op)
			}
		}
		b.opEnd = append(b.opEnd, int32(len(b.ops)))
	}
}

// groupFeatures puts a tree's features (feats, at most 32) in groups of
// eight lanes, as few groups as fit them, so that the leaves' path
// features fall in few groups: each (leaf, group) pair with a feature in
// common is a step of explainKeys8AVX512. Starting from feats in order,
// it swaps features between groups, and moves them into free lanes, while
// that saves steps (a local search, the same for the same tree). It
// returns the groups' lanes, 8g+i, holding a feature or −1 (free).
func groupFeatures(feats []int32, leaves []shapLeaf) []int32 {
	nf := len(feats)
	ng := (nf + 7) / 8
	at := map[int]int{} // feature → its index in feats
	for i, f := range feats {
		at[int(f)] = i
	}
	uses := make([]uint32, len(leaves)) // bit k: the leaf's path has feats[k]
	for l, lf := range leaves {
		for _, f := range lf.feats {
			uses[l] |= 1 << at[f]
		}
	}
	group := make([]int, nf) // feats[k]'s group
	size := make([]int, ng)
	for k := range group {
		group[k] = k / 8
		size[k/8]++
	}
	steps := func() int {
		var in [4]uint32 // each group's features as bits of feats
		for k, g := range group {
			in[g] |= 1 << k
		}
		n := 0
		for _, u := range uses {
			for g := range ng {
				if u&in[g] != 0 {
					n++
				}
			}
		}
		return n
	}
	best := steps()
	for better := ng > 1; better; {
		better = false
		for a := range nf {
			for b := a + 1; b < nf; b++ {
				if group[a] == group[b] {
					continue
				}
				group[a], group[b] = group[b], group[a]
				if n := steps(); n < best {
					best, better = n, true
				} else {
					group[a], group[b] = group[b], group[a]
				}
			}
			for g := range ng {
				if g == group[a] || size[g] == 8 {
					continue
				}
				was := group[a]
				group[a] = g
				if n := steps(); n < best {
					best, better = n, true
					size[was]--
					size[g]++
				} else {
					group[a] = was
				}
			}
		}
	}
	lanes := make([]int32, 8*ng)
	for i := range lanes {
		lanes[i] = -1
	}
	var next [4]int
	for k, g := range group {
		lanes[8*g+next[g]] = feats[k]
		next[g]++
	}
	return lanes
}

// explainKeys is explain for trees of at most 63 nodes, from the row's
// order keys (encodeKeys): the row's decisions are one bit set, each node's
// hot mask follows from its parent's in one step without branches, and
// each feature's contributions are summed in a register. A feature's
// contributions are added in leaf order, as explain adds them, so the sums
// are the same to the bit.
func (b *shapBits) explainKeys(phi []float64, keys []uint64) {
	var goLeft uint64
	for _, sp := range b.splits {
		_, right := bits.Sub64(sp.bound, keys[sp.feat]+sp.shift, 0)
		goLeft |= (right ^ 1) << sp.node
	}
	var mask [64]uint32
	for _, f := range b.forks {
		base, gl := mask[f.parent]|f.newSlot, uint32(goLeft>>f.parent)&1 // gl: 1 when the row goes left
		mask[f.left] = base &^ ((gl ^ 1) << f.slot)
		mask[f.left+1] = base &^ (gl << f.slot)
	}
	var row [64]int32
	for l, node := range b.leafNode {
		row[l] = b.leafBase[l] + int32(mask[node])*b.leafStride[l]
	}
	lo := int32(0)
	for i, f := range b.feats {
		hi := b.useEnd[i]
		acc := phi[f]
		for _, u := range b.uses[lo:hi] {
			acc += b.flat[row[u.leaf]+int32(u.slot)]
		}
		phi[f] = acc
		lo = hi
	}
}

// shapScratch8 is explainKeys8's working memory, kept by its caller: a
// fresh array each call would be zeroed each time (3 KB, for every tree
// and eight rows), though only the root's mask is read before written.
type shapScratch8 struct {
	mask [64][8]uint32 // node → each row's mask of path slots
	row  [32][8]int32  // leaf → each row's offset into flat
	//lint:ignore U1000 written and read by explainKeys8AVX512 (fastshap_amd64.s)
	right [64]uint8 // split node → the rows going right, a bit a row
}

// explainKeys8 is explainKeys for eight rows at once (phi and keys hold
// p values a row): their steps are independent, so the processor overlaps
// them. Each row's sums are explainKeys's, to the bit.
func (b *shapBits) explainKeys8(phi []float64, keys []uint64, p int, sc *shapScratch8) {
	k0, k1, k2, k3, k4, k5, k6, k7 := keys[0*p:1*p], keys[1*p:2*p], keys[2*p:3*p], keys[3*p:4*p], keys[4*p:5*p], keys[5*p:6*p], keys[6*p:7*p], keys[7*p:8*p]
	var g0, g1, g2, g3, g4, g5, g6, g7 uint64
	for _, sp := range b.splits {
		_, r0 := bits.Sub64(sp.bound, k0[sp.feat]+sp.shift, 0)
		_, r1 := bits.Sub64(sp.bound, k1[sp.feat]+sp.shift, 0)
		_, r2 := bits.Sub64(sp.bound, k2[sp.feat]+sp.shift, 0)
		_, r3 := bits.Sub64(sp.bound, k3[sp.feat]+sp.shift, 0)
		_, r4 := bits.Sub64(sp.bound, k4[sp.feat]+sp.shift, 0)
		_, r5 := bits.Sub64(sp.bound, k5[sp.feat]+sp.shift, 0)
		_, r6 := bits.Sub64(sp.bound, k6[sp.feat]+sp.shift, 0)
		_, r7 := bits.Sub64(sp.bound, k7[sp.feat]+sp.shift, 0)
		g0 |= (r0 ^ 1) << sp.node
		g1 |= (r1 ^ 1) << sp.node
		g2 |= (r2 ^ 1) << sp.node
		g3 |= (r3 ^ 1) << sp.node
		g4 |= (r4 ^ 1) << sp.node
		g5 |= (r5 ^ 1) << sp.node
		g6 |= (r6 ^ 1) << sp.node
		g7 |= (r7 ^ 1) << sp.node
	}
	mask := &sc.mask
	mask[0] = [8]uint32{} // the root: every other node is written (as a child) before it is read
	for _, f := range b.forks {
		// o: the parent's mask with its slot; w: 1 when the row goes left.
		m, l, r := &mask[f.parent], &mask[f.left], &mask[f.left+1]
		o0, w0 := m[0]|f.newSlot, uint32(g0>>f.parent)&1
		l[0], r[0] = o0&^((w0^1)<<f.slot), o0&^(w0<<f.slot)
		o1, w1 := m[1]|f.newSlot, uint32(g1>>f.parent)&1
		l[1], r[1] = o1&^((w1^1)<<f.slot), o1&^(w1<<f.slot)
		o2, w2 := m[2]|f.newSlot, uint32(g2>>f.parent)&1
		l[2], r[2] = o2&^((w2^1)<<f.slot), o2&^(w2<<f.slot)
		o3, w3 := m[3]|f.newSlot, uint32(g3>>f.parent)&1
		l[3], r[3] = o3&^((w3^1)<<f.slot), o3&^(w3<<f.slot)
		o4, w4 := m[4]|f.newSlot, uint32(g4>>f.parent)&1
		l[4], r[4] = o4&^((w4^1)<<f.slot), o4&^(w4<<f.slot)
		o5, w5 := m[5]|f.newSlot, uint32(g5>>f.parent)&1
		l[5], r[5] = o5&^((w5^1)<<f.slot), o5&^(w5<<f.slot)
		o6, w6 := m[6]|f.newSlot, uint32(g6>>f.parent)&1
		l[6], r[6] = o6&^((w6^1)<<f.slot), o6&^(w6<<f.slot)
		o7, w7 := m[7]|f.newSlot, uint32(g7>>f.parent)&1
		l[7], r[7] = o7&^((w7^1)<<f.slot), o7&^(w7<<f.slot)
	}
	row := &sc.row // every leaf's entry is written here before the sums read it
	for l, node := range b.leafNode {
		base, m, mk := b.leafBase[l], b.leafStride[l], &mask[node]
		r := &row[l]
		r[0] = base + int32(mk[0])*m
		r[1] = base + int32(mk[1])*m
		r[2] = base + int32(mk[2])*m
		r[3] = base + int32(mk[3])*m
		r[4] = base + int32(mk[4])*m
		r[5] = base + int32(mk[5])*m
		r[6] = base + int32(mk[6])*m
		r[7] = base + int32(mk[7])*m
	}
	lo := int32(0)
	flat := b.flat
	for i, f := range b.feats {
		hi := b.useEnd[i]
		a0, a1, a2, a3, a4, a5, a6, a7 := phi[0*p+int(f)], phi[1*p+int(f)], phi[2*p+int(f)], phi[3*p+int(f)], phi[4*p+int(f)], phi[5*p+int(f)], phi[6*p+int(f)], phi[7*p+int(f)]
		for _, u := range b.uses[lo:hi] {
			r, s := &row[u.leaf], int32(u.slot)
			a0 += flat[r[0]+s]
			a1 += flat[r[1]+s]
			a2 += flat[r[2]+s]
			a3 += flat[r[3]+s]
			a4 += flat[r[4]+s]
			a5 += flat[r[5]+s]
			a6 += flat[r[6]+s]
			a7 += flat[r[7]+s]
		}
		phi[0*p+int(f)], phi[1*p+int(f)], phi[2*p+int(f)], phi[3*p+int(f)], phi[4*p+int(f)], phi[5*p+int(f)], phi[6*p+int(f)], phi[7*p+int(f)] = a0, a1, a2, a3, a4, a5, a6, a7
		lo = hi
	}
}
