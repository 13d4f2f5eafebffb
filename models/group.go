package models

import "math"

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
