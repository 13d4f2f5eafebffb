package models

import (
	"math"
	"slices"
)

// groupRF assigns every customer the index of its (x, t_x, T) in keys, the
// unique triples in order of first appearance (Weight 0). It goes through a
// table keyed by a 64-bit mix of the three values (groupTable); a
// different triple with a colliding hash goes to an exact map, so the
// grouping is always exact.
func groupRF(x, tx, T []float64) (group []int32, keys []RFGroup) {
	type key struct{ x, tx, T float64 }
	group = make([]int32, len(x))
	index := newGroupTable(len(x) / 2)
	var exact map[key]int32
	keys = make([]RFGroup, 0, len(x)/2)
	for i := range x {
		k := RFGroup{X: x[i], Tx: tx[i], T: T[i]}
		h := groupHash(k.X, k.Tx, k.T)
		g, ok := index.get(h)
		switch {
		case !ok:
			g = int32(len(keys))
			index.put(h, g)
			keys = append(keys, k)
		case keys[g] != k:
			if exact == nil {
				exact = map[key]int32{}
			}
			ek := key{k.X, k.Tx, k.T}
			if g, ok = exact[ek]; !ok {
				g = int32(len(keys))
				exact[ek] = g
				keys = append(keys, k)
			}
		}
		group[i] = g
	}
	return group, keys
}

// groupTable maps 64-bit hashes to group indexes: open addressing with
// linear probing in a power-of-two table at most half full, each slot
// eight bytes, the hash's low 32 bits (whose lowest bits are the slot's
// home) above the group + 1 (0: a free slot). A hash found may be another
// triple's that agrees in those bits: groupRF compares the triples, as it
// must for full collisions anyway, and its exact map takes such a triple,
// so the groups are the ones a map of whole hashes gives. Go's map keyed
// by the hash took about 120 ns a customer at a million customers (two
// thirds of a million groups) in warm memory, this about 60.
type groupTable struct {
	slots []uint64
	n     int
}

func newGroupTable(hint int) *groupTable {
	t := &groupTable{}
	t.alloc(max(64, 2*hint))
	return t
}

// alloc makes room for at least size slots (rounded up to a power of two,
// at most 2³²: a home is within the stored bits).
func (t *groupTable) alloc(size int) {
	n := 64
	for n < size && n < 1<<32 {
		n *= 2
	}
	t.slots = make([]uint64, n)
}

func (t *groupTable) get(h uint64) (int32, bool) {
	mask := uint64(len(t.slots) - 1)
	fp := h << 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff == fp {
			return int32(uint32(s)) - 1, true
		}
	}
}

// put adds h (not in the table) with group g.
func (t *groupTable) put(h uint64, g int32) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.alloc(2 * len(old))
		for _, s := range old {
			if s != 0 {
				t.insert(s)
			}
		}
	}
	t.insert(h<<32 | uint64(uint32(g+1)))
	t.n++
}

// insert places slot s from its home on.
func (t *groupTable) insert(s uint64) {
	mask := uint64(len(t.slots) - 1)
	i := s >> 32 & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// groupHash is the hash groupRF uses (a variable so tests can force collisions).
var groupHash = mix3

// mix3 hashes three floats into 64 bits (multiply-xorshift mixing).
func mix3(a, b, c float64) uint64 {
	h := math.Float64bits(a)*0x9e3779b97f4a7c15 ^ math.Float64bits(b)
	h = (h ^ h>>29) * 0xbf58476d1ce4e5b9
	h ^= math.Float64bits(c)
	h = (h ^ h>>32) * 0x94d049bb133111eb
	return h ^ h>>29
}

// RFIndex is customers grouped by their (x, t_x, T) for the functions that
// compute once per distinct triple (ExpectedPurchases, Compress,
// PredictAllIndexed, MedianNextPurchaseIndexed): made once, it serves them
// all on the same customers, where each grouping is a serial pass over
// every customer. Use it from one goroutine.
type RFIndex struct {
	of   []int32   // customer i's triple is keys[of[i]]
	keys []RFGroup // the distinct triples, in order of first appearance (Weight 0)
	// The distinct (x, T) of the triples (the groups for the models that
	// split at P(alive)), made when first needed: triple g's is
	// xTKeys[xT[g]].
	xT     []int32
	xTKeys []RFGroup
}

// IndexRF groups the customers' (x, t_x, T).
func IndexRF(x, tx, T []float64) *RFIndex {
	of, keys := groupRF(x, tx, T)
	return &RFIndex{of: of, keys: keys}
}

// byXT returns the triples' grouping by (x, T).
func (ix *RFIndex) byXT() ([]int32, []RFGroup) {
	if ix.xTKeys == nil {
		kx, kT := make([]float64, len(ix.keys)), make([]float64, len(ix.keys))
		for g, k := range ix.keys {
			kx[g], kT[g] = k.X, k.T
		}
		ix.xT, ix.xTKeys = groupRF(kx, make([]float64, len(ix.keys)), kT)
	}
	return ix.xT, ix.xTKeys
}

// Compress returns the distinct triples, each weighing its customers, as
// CompressRF does: sorted by x, t_x, T.
func (ix *RFIndex) Compress() []RFGroup {
	return weighGroups(slices.Clone(ix.keys), ix.of, nil)
}

// ExpectedPurchases is ExpectedPurchasesAll for the indexed customers.
func (ix *RFIndex) ExpectedPurchases(dst []float64, m PurchaseModel, t float64) {
	per := make([]float64, len(ix.keys))
	parallelFor(len(ix.keys), func(g int) { per[g] = m.ExpectedPurchases(t, ix.keys[g].X, ix.keys[g].Tx, ix.keys[g].T) })
	for i, g := range ix.of {
		dst[i] = per[g]
	}
}
