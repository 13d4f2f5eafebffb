package features

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

type pricedTx struct {
	cust, order, ts, product string
	cents, unit              int64
}

func pricedBatch(t *testing.T, mem memory.Allocator, rows []pricedTx) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
		{Name: datasets.ColQuantity, Type: arrow.PrimitiveTypes.Int32},
		{Name: datasets.ColProductID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColUnitPrice, Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for _, r := range rows {
		rb.Field(0).(*array.StringBuilder).Append(r.cust)
		rb.Field(1).(*array.StringBuilder).Append(r.order)
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(mustTime(t, r.ts)))
		rb.Field(3).(*array.Int64Builder).Append(r.cents)
		rb.Field(4).(*array.Int32Builder).Append(1)
		rb.Field(5).(*array.StringBuilder).Append(r.product)
		rb.Field(6).(*array.Int64Builder).Append(r.unit)
	}
	return rb.NewRecordBatch()
}

// X's mean list price rises 10% in February (1000 → 1100); Y's 2% (no
// increase). a bought X in January: before = Dec 20.00 + Jan 10.00, after
// = Mar 10.00 → (10 − 30) / 40. o1 bought X and Y each month. b bought only Y.
var pricedFixture = []pricedTx{
	{"a", "A0", "2023-12-20T10:00:00Z", "Z", 2000, 0},
	{"a", "A1", "2024-01-15T10:00:00Z", "X", 1000, 1000},
	{"a", "A2", "2024-03-10T10:00:00Z", "Z", 1000, 0},
	{"b", "B1", "2024-01-05T10:00:00Z", "Y", 500, 500},
	{"o1", "1", "2024-01-02T10:00:00Z", "X", 1000, 1000},
	{"o1", "1", "2024-01-02T10:00:00Z", "Y", 500, 500},
	{"o1", "2", "2024-02-02T10:00:00Z", "X", 1100, 1100},
	{"o1", "2", "2024-02-02T10:00:00Z", "Y", 510, 510},
	{"o1", "3", "2024-03-02T10:00:00Z", "X", 1100, 1100},
	{"o2", "1", "2024-01-03T10:00:00Z", "X", 1000, 1000},
	{"o2", "1", "2024-01-03T10:00:00Z", "Y", 500, 500},
	{"o2", "2", "2024-02-03T10:00:00Z", "X", 1100, 1100},
	{"o2", "2", "2024-02-03T10:00:00Z", "Y", 510, 510},
	{"o3", "1", "2024-02-04T10:00:00Z", "X", 1100, 1100},
	{"o3", "1", "2024-02-04T10:00:00Z", "Y", 510, 510},
	{"o4", "1", "2024-01-04T10:00:00Z", "Y", 500, 500},
}

func TestPriceIncreaseResponse(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec := pricedBatch(t, mem, pricedFixture)
	defer rec.Release()
	cutoff := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	// Two half books merge into the whole: X has 3 priced lines in January
	// (a, o1, o2) and 3 in February (o1, o2, o3).
	pb, other := NewPriceBook(time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), cutoff), NewPriceBook(time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), cutoff)
	first, second := rec.NewSlice(0, 8), rec.NewSlice(8, rec.NumRows())
	defer first.Release()
	defer second.Release()
	if err := pb.Add(first); err != nil {
		t.Fatal(err)
	}
	if err := other.Add(second); err != nil {
		t.Fatal(err)
	}
	pb.Merge(other)
	inc := pb.Increases()
	feb := mustTime(t, "2024-02-01T00:00:00Z")
	if len(inc) != 1 || len(inc[fnv1a("X")]) != 1 || inc[fnv1a("X")][0] != feb {
		t.Fatalf("increases = %v, want X in February only", inc)
	}
	b, err := NewBuilder(Config{Cutoff: cutoff, PriceIncreases: inc})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := b.Add(rec); err != nil {
		t.Fatal(err)
	}
	out := b.Finish()
	defer out.Release()
	ids, _ := Strings(out, CustomerID)
	seen, _ := Float64s(out, PriceIncreasesSeen)
	resp, _ := Float64s(out, PriceIncreaseResp)
	// o1: before [11-03, 02-01) = 10.00 + 5.00; after = 11.00 + 5.10 + 11.00.
	want := map[string][2]float64{"a": {1, -0.5}, "b": {0, math.NaN()}, "o1": {1, (2710.0 - 1500) / 4210}, "o3": {0, math.NaN()}}
	for i, id := range ids {
		w, ok := want[id]
		if !ok {
			continue
		}
		if seen[i] != w[0] || math.IsNaN(w[1]) != math.IsNaN(resp[i]) || !math.IsNaN(w[1]) && math.Abs(resp[i]-w[1]) > 1e-12 {
			t.Errorf("%s: seen %v response %v, want %v", id, seen[i], resp[i], w)
		}
	}
	// Mid-June cutoff: June is not complete, and a 90-day window after
	// February ends by it; an increase with its after-window past the
	// cutoff is not seen.
	early, err := NewBuilder(Config{Cutoff: time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC), PriceIncreases: inc})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Release()
	if err := early.Add(rec); err != nil {
		t.Fatal(err)
	}
	out2 := early.Finish()
	defer out2.Release()
	if s, _ := Float64s(out2, PriceIncreasesSeen); s[0] != 0 {
		t.Errorf("a saw %v increases by 04-15, want 0 (the 90 days after 02-01 end 05-01)", s[0])
	}
}
