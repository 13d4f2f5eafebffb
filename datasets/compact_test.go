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

// Rows with a line id keep only the latest version of each (customer,
// order, line); the drop count covers those superseded and the duplicates.
func TestCompactCountsSupersededLines(t *testing.T) {
	in := []Transaction{
		{CustomerID: "c1", OrderID: "o1", LineID: "1", TS: 10, AmountCents: 500},
		{CustomerID: "c1", OrderID: "o1", LineID: "2", TS: 10, AmountCents: 300},
		{CustomerID: "c2", OrderID: "o9", TS: 20, AmountCents: 100},
		{CustomerID: "c2", OrderID: "o9", TS: 20, AmountCents: 100},              // a duplicate
		{CustomerID: "c1", OrderID: "o1", LineID: "1", TS: 10, AmountCents: 450}, // corrects line 1
	}
	bk := newBucketRows()
	for i := range in {
		bk.add(&in[i])
	}
	if dropped := bk.compact(); dropped != 2 {
		t.Errorf("dropped %d, want 2 (one superseded line, one duplicate)", dropped)
	}
	var got []Transaction
	for _, p := range bk.perm {
		got = append(got, bk.tx(bk.at(p)))
	}
	want := []Transaction{in[4], in[1], in[2]}
	slices.SortFunc(want, compareTx)
	if !slices.Equal(got, want) {
		t.Errorf("rows %+v, want %+v", got, want)
	}
}
