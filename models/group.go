package models

import (
	"math"
	"slices"
)

// groupRF assigns every customer the index of its (x, t_x, T) in keys, the
// unique triples in order of first appearance (Weight 0). It goes through a
// map keyed by a 64-bit mix of the three values (Go's fast path for 8-byte
// keys); a different triple with a colliding hash goes to an exact map, so
// the grouping is always exact.
func groupRF(x, tx, T []float64) (group []int32, keys []RFGroup) {
	type key struct{ x, tx, T float64 }
	group = make([]int32, len(x))
	index := make(map[uint64]int32, len(x)/4)
	var exact map[key]int32
	keys = make([]RFGroup, 0, len(x)/4)
	for i := range x {
		k := RFGroup{X: x[i], Tx: tx[i], T: T[i]}
		h := groupHash(k.X, k.Tx, k.T)
		g, ok := index[h]
		switch {
		case !ok:
			g = int32(len(keys))
			index[h] = g
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
