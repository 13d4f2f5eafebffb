package datasets

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Rows go through the spill encoding unchanged, extremes, empty strings
// and fields repeating the row before included, and a cut or damaged file
// is an error, never a panic.
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
		r := Transaction{CustomerID: str(), OrderID: str(), TS: rng.Int64() - rng.Int64(), AmountCents: rng.Int64N(1e9) - 5e8,
			Quantity: rng.Int32N(100) - 50, ProductID: str(), Category: str(), Channel: str(), LineID: str(), LineKind: str(),
			DiscountCents: rng.Int64N(1000), UnitPriceCents: rng.Int64N(1e6), PointsEarned: rng.Int64N(500), PointsRedeemed: -rng.Int64N(500)}
		if prev := in[len(in)-1]; rng.IntN(2) == 0 { // another line of the same order: some fields repeat
			r.TS, r.CustomerID, r.OrderID = prev.TS, prev.CustomerID, prev.OrderID
			if rng.IntN(2) == 0 {
				r.Category, r.Channel, r.LineKind = prev.Category, prev.Channel, prev.LineKind
			}
		}
		in = append(in, r)
	}
	// Two buffers as the parsing workers make them, one after the other
	// in the file: the second's first row refers to nothing before it.
	var p []byte
	var sizes []int
	for i := range in {
		var prev *Transaction
		if i > 0 && i != 250 {
			prev = &in[i-1]
		}
		n := len(p)
		p = appendSpill(p, &in[i], prev)
		sizes = append(sizes, len(p)-n)
	}
	if full := len(appendSpill(nil, &in[251], nil)); sizes[251] >= full && in[251].OrderID == in[250].OrderID {
		t.Errorf("a repeated order takes %d bytes, as many as a whole row (%d)", sizes[251], full)
	}
	rest := p
	var got Transaction
	for i := range in {
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
		r := p[:sizes[0]+sizes[1]+sizes[2]+sizes[3]-cut]
		var err error
		for len(r) > 0 && err == nil {
			r, err = nextSpill(r, &tx)
		}
		if !errors.Is(err, errSpillCorrupt) {
			t.Fatalf("cut by %d bytes: %v", cut, err)
		}
	}
}

// The flags leave out exactly the fields equal to the row before's, and a
// row without one before carries them all.
func TestSpillLeavesOutRepeats(t *testing.T) {
	a := Transaction{CustomerID: "c1", OrderID: "o1", TS: 1_700_000_000_000_000, AmountCents: 500, ProductID: "p1", Category: "tea", Channel: "web"}
	b := a
	b.ProductID, b.AmountCents = "p2", 700
	full := appendSpill(nil, &b, nil)
	short := appendSpill(nil, &b, &a)
	if short[0] != spillSameTS|spillSameCust|spillSameCust<<1|spillSameCust<<3|spillSameCust<<4|spillSameCust<<5|spillSameCust<<6 {
		t.Errorf("flags %08b", short[0])
	}
	// Left out: the time (8 bytes), c1 and o1 (3 bytes each), tea and web
	// (4 each), the empty line id and kind (a length byte each).
	if want := len(full) - 8 - 2*3 - 2*4 - 2; len(short) != want {
		t.Errorf("%d bytes, want %d (whole row %d)", len(short), want, len(full))
	}
	if full[0] != 0 {
		t.Errorf("a row with none before has flags %08b", full[0])
	}
}

func FuzzSpillDecode(f *testing.F) {
	first := Transaction{CustomerID: "a", OrderID: "1", TS: 5}
	f.Add(appendSpill(nil, &first, nil))
	second := first
	second.AmountCents = 3
	f.Add(appendSpill(appendSpill(nil, &first, nil), &second, &first))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		var tx Transaction
		for n := 0; len(p) > 0 && n < 1000; n++ {
			var err error
			if p, err = nextSpill(p, &tx); err != nil {
				return
			}
			if back, _ := nextSpill(appendSpill(nil, &tx, nil), &Transaction{}); len(back) != 0 {
				t.Fatal("re-encoding does not decode to one row")
			}
		}
	})
}
