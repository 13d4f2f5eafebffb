package datasets

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// compact puts a bucket's rows in the warehouse order (compareTx) and keeps
// each distinct row once, across segments, with customers whose ids sort
// differently as text and as numbers, ties on time, and exact duplicates.
func TestCompactSortsAndDropsDuplicates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var in []Transaction
	for len(in) < 3*addChunk+500 {
		r := Transaction{CustomerID: fmt.Sprint(rng.IntN(900)), OrderID: fmt.Sprint("o", rng.IntN(50)), TS: int64(rng.IntN(20)) * 1e6,
			AmountCents: int64(rng.IntN(5)) * 100, Quantity: int32(rng.IntN(3)), ProductID: fmt.Sprint("p", rng.IntN(4)),
			Category: []string{"", "tea", "cups"}[rng.IntN(3)], DiscountCents: int64(rng.IntN(2))}
		in = append(in, r)
		if rng.IntN(10) == 0 {
			in = append(in, r) // an exact duplicate
		}
	}
	bk := newBucketRows()
	for i := range in {
		bk.add(&in[i])
	}
	if len(bk.segs) < 3 {
		t.Fatalf("%d segments: the test needs several", len(bk.segs))
	}
	dropped := bk.compact()
	want := slices.Clone(in)
	slices.SortFunc(want, compareTx)
	want = slices.CompactFunc(want, func(a, b Transaction) bool { return compareTx(a, b) == 0 })
	if dropped != len(in)-len(want) {
		t.Errorf("dropped %d, want %d", dropped, len(in)-len(want))
	}
	if len(bk.perm) != len(want) {
		t.Fatalf("%d rows, want %d", len(bk.perm), len(want))
	}
	for i, p := range bk.perm {
		if got := bk.tx(bk.at(p)); got != want[i] {
			t.Fatalf("row %d: %+v, want %+v", i, got, want[i])
		}
	}
}
