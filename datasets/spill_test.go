package datasets

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Rows go through the spill encoding unchanged, extremes and empty
// strings included, and a cut or damaged file is an error, never a panic.
func TestSpillRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	str := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(40)) + "客户"
	}
	in := []Transaction{{}, {TS: math.MinInt64, AmountCents: math.MaxInt64, Quantity: math.MinInt32, CustomerID: "0007"}}
	for range 500 {
		in = append(in, Transaction{CustomerID: str(), OrderID: str(), TS: rng.Int64() - rng.Int64(), AmountCents: rng.Int64N(1e9) - 5e8,
			Quantity: rng.Int32N(100) - 50, ProductID: str(), Category: str(), Channel: str(), LineID: str(), LineKind: str(),
			DiscountCents: rng.Int64N(1000), UnitPriceCents: rng.Int64N(1e6), PointsEarned: rng.Int64N(500), PointsRedeemed: -rng.Int64N(500)})
	}
	var p []byte
	for i := range in {
		p = appendSpill(p, &in[i])
	}
	rest := p
	for i := range in {
		var got Transaction
		var err error
		if rest, err = nextSpill(rest, &got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if got != in[i] {
			t.Fatalf("row %d: %+v, want %+v", i, got, in[i])
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
	for cut := 1; cut < 40; cut++ {
		var tx Transaction
		r := p[:len(appendSpill(nil, &in[3]))+len(appendSpill(nil, &in[0]))+len(appendSpill(nil, &in[1]))+len(appendSpill(nil, &in[2]))-cut]
		var err error
		for len(r) > 0 && err == nil {
			r, err = nextSpill(r, &tx)
		}
		if !errors.Is(err, errSpillCorrupt) {
			t.Fatalf("cut by %d bytes: %v", cut, err)
		}
	}
}

func FuzzSpillDecode(f *testing.F) {
	f.Add(appendSpill(nil, &Transaction{CustomerID: "a", OrderID: "1", TS: 5}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		var tx Transaction
		for n := 0; len(p) > 0 && n < 1000; n++ {
			var err error
			if p, err = nextSpill(p, &tx); err != nil {
				return
			}
			if back, _ := nextSpill(appendSpill(nil, &tx), &Transaction{}); len(back) != 0 {
				t.Fatal("re-encoding does not decode to one row")
			}
		}
	})
}
