package features

import (
	"math"
	"slices"
)

// SortFloats sorts v ascending as slices.Sort does — NaNs first, then the
// numbers in order — by a least-significant-digit radix sort of the values'
// order keys, a byte at a time, skipping bytes every value shares. The
// only differences from slices.Sort are ones no comparison sees: −0 comes
// before +0, and every NaN comes out as math.NaN(). The RFM quintiles sort
// a million spends a snapshot: 12 ms instead of slices.Sort's 74 ms on one
// core (BenchmarkSortFloats).
func SortFloats(v []float64) {
	if len(v) < 1<<10 {
		slices.Sort(v)
		return
	}
	keys := make([]uint64, len(v))
	var counts [8][256]int
	for i, f := range v {
		k := FloatKey(f)
		keys[i] = k
		for d := range 8 {
			counts[d][byte(k>>(8*d))]++
		}
	}
	tmp := make([]uint64, len(v))
	for d := range 8 {
		c := &counts[d]
		if c[byte(keys[0]>>(8*d))] == len(v) {
			continue // every key has this byte: the pass would change nothing
		}
		at := 0
		for b, n := range c {
			c[b] = at
			at += n
		}
		for _, k := range keys {
			b := byte(k >> (8 * d))
			tmp[c[b]] = k
			c[b]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		v[i] = KeyFloat(k)
	}
}

// FloatKey maps f to a key whose unsigned order is the order slices.Sort
// gives: every NaN to 0, below −Inf's key; negative numbers with all bits
// flipped; the others with the sign bit set (−0's key is just below +0's).
func FloatKey(f float64) uint64 {
	if f != f {
		return 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// KeyFloat inverts FloatKey (0 is NaN).
func KeyFloat(k uint64) float64 {
	switch {
	case k == 0:
		return math.NaN()
	case k>>63 != 0:
		return math.Float64frombits(k &^ (1 << 63))
	default:
		return math.Float64frombits(^k)
	}
}
