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

// A fully cancelled order is not a purchase: not for recency, frequency,
// spend or labels. Partial cancellations and refunds after the window
// are ordinary refunds; a cancellation after the cutoff does not reach back
// into the snapshot (point in time); non-product lines never count.
func TestCancelledOrdersAreNotPurchases(t *testing.T) {
	type row struct {
		cust, order, ts string
		cents           int64
		kind            string
	}
	rows := []row{
		{"c", "O1", "2024-03-01T10:00:00Z", 5000, ""},                         // cancelled in full 4 days later
		{"c", "O1", "2024-03-05T10:00:00Z", -5000, datasets.LineCancellation}, //
		{"c", "O2", "2024-04-01T10:00:00Z", 3000, ""},                         // partly refunded: a purchase
		{"c", "O2", "2024-04-03T10:00:00Z", -1000, datasets.LineCancellation}, //
		{"c", "O3", "2024-05-01T10:00:00Z", 2000, ""},                         // refunded after 45 days: a purchase
		{"c", "O3", "2024-06-15T10:00:00Z", -2000, ""},                        //
		{"c", "O4", "2024-06-25T10:00:00Z", 4000, datasets.LineProduct},       // cancelled after the cutoff
		{"c", "S4", "2024-06-28T10:00:00Z", 500, datasets.LineShipping},       // postage: never a purchase
		{"c", "O4", "2024-07-02T10:00:00Z", -4000, datasets.LineCancellation}, //
		{"c", "O5", "2024-07-10T10:00:00Z", 2500, ""},                         // the only order in the horizon, cancelled
		{"c", "O5", "2024-07-12T10:00:00Z", -2500, datasets.LineCancellation}, //
		{"d", "D1", "2024-06-01T10:00:00Z", 900, ""},                          // d's only order, cancelled:
		{"d", "D1", "2024-06-02T10:00:00Z", -900, datasets.LineCancellation},  // not a customer yet
		{"e", "E1", "2024-06-01T10:00:00Z", 1200, ""},                         // e buys in the horizon; the
		{"e", "E2", "2024-07-20T10:00:00Z", 800, ""},                          // order stays (not cancelled)
		{"e", "F1", "2024-09-30T10:00:00Z", 100, datasets.LineFee},            //
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
		{Name: datasets.ColLineKind, Type: arrow.BinaryTypes.String},
	}, nil)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rb := array.NewRecordBuilder(mem, schema)
	for _, r := range rows {
		ts, _ := time.Parse(time.RFC3339, r.ts)
		rb.Field(0).(*array.StringBuilder).Append(r.cust)
		rb.Field(1).(*array.StringBuilder).Append(r.order)
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		rb.Field(3).(*array.Int64Builder).Append(r.cents)
		rb.Field(4).(*array.StringBuilder).Append(r.kind)
	}
	in := rb.NewRecordBatch()
	rb.Release()
	defer in.Release()
	for _, window := range []int{0, -1} { // default 30 days; -1: the rule off
		b, err := NewBuilder(mem, Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Horizon: 90, Labelled: true, CancelWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Add(in); err != nil {
			t.Fatal(err)
		}
		rec := b.Finish()
		ids, _ := Strings(rec, CustomerID)
		get := func(col string, i int) float64 { v, _ := Float64s(rec, col); return v[i] }
		day := func(s string) float64 { tm, _ := time.Parse(time.DateOnly, s); return float64(tm.Unix() / 86400) }
		if window == 0 {
			if len(ids) != 2 || ids[0] != "c" || ids[1] != "e" {
				t.Fatalf("customers %v, want [c e]: d's only order was cancelled", ids)
			}
			// c: orders O2, O3, O4; spend 30 − 10 + 20 − 20 + 40 = 60.00.
			for col, want := range map[string]float64{Orders: 3, FirstOrderDate: day("2024-04-01"), LastOrderDate: day("2024-06-25"),
				SpendCents: 6000, LabelChurned: 1, LabelFutureOrd: 0, LabelFutureSpend: 0} {
				if got := get(col, 0); got != want {
					t.Errorf("c %s = %v, want %v", col, got, want)
				}
			}
			if got := get(LabelFutureOrd, 1); got != 1 {
				t.Errorf("e future orders = %v, want 1 (the fee is not an order)", got)
			}
		} else {
			// Without the rule every order is a purchase (the shipping line still is not).
			if len(ids) != 3 || get(Orders, 0) != 4 || get(LabelChurned, 0) != 0 {
				t.Errorf("rule off: customers %v, c orders %v, churned %v", ids, get(Orders, 0), get(LabelChurned, 0))
			}
		}
		rec.Release()
		b.Release()
	}
}

// Attitudinal features from the feedback table, by the cutoff only.
func TestAttitudeFeatures(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	b, err := NewBuilder(mem, Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Horizon: 90})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	ts := func(s string) int64 { tm, _ := time.Parse(time.DateOnly, s); return tm.UnixMicro() }
	nan := math.NaN()
	b.SetFeedback([]datasets.Feedback{
		{CustomerID: "a", TS: ts("2023-01-01"), Kind: "complaint", Score: nan}, // outside 365 days
		{CustomerID: "a", TS: ts("2024-03-01"), Kind: "nps", Score: 10},
		{CustomerID: "a", TS: ts("2024-04-01"), Kind: "csat", Score: 2},
		{CustomerID: "a", TS: ts("2024-05-01"), Kind: "csat", Score: 4},
		{CustomerID: "a", TS: ts("2024-06-10"), Kind: "complaint", Score: nan},
		{CustomerID: "a", TS: ts("2024-06-20"), Kind: "nps", Score: 3},
		{CustomerID: "a", TS: ts("2024-06-21"), Kind: "ticket", Score: nan},
		{CustomerID: "a", TS: ts("2024-07-05"), Kind: "nps", Score: 10}, // after the cutoff
		{CustomerID: "c", TS: ts("2024-01-01"), Kind: "nps", Score: 8},  // not a customer: skipped
		{CustomerID: "d", TS: ts("2024-05-01"), Kind: "complaint", Score: nan},
		{CustomerID: "d", TS: ts("2024-05-02"), Kind: "ces", Score: 7},
	})
	rows := []tx{{"a", "A1", "2024-01-10T10:00:00Z", 3000, ""}, {"b", "B1", "2024-02-10T10:00:00Z", 1000, ""},
		{"d", "D1", "2024-04-01T10:00:00Z", 500, ""}, {"d", "D2", "2024-05-10T10:00:00Z", 700, ""}}
	for _, rec := range batches(t, mem, rows, 10) {
		if err := b.Add(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	rec := b.Finish()
	defer rec.Release()
	get := func(col string, i int) float64 { v, _ := Float64s(rec, col); return v[i] }
	classes, _ := Strings(rec, NPSClass)
	// a bought on 2024-01-10, before the last complaint (2024-06-10): no
	// order followed it. Index: mean of NPS 3/10 and CSAT (3−1)/4.
	want := map[string]float64{NPSLatest: 3, CSATMean: 3, Complaints30d: 1, Complaints90d: 1, Complaints365d: 1, DaysSinceComplaint: 20, Tickets90d: 1,
		Returns365d: 0, BoughtAfterComplaint: 0, SatisfactionIndex: (0.3 + 0.5) / 2}
	for col, w := range want {
		if got := get(col, 0); got != w {
			t.Errorf("a %s = %v, want %v", col, got, w)
		}
	}
	if classes[0] != "detractor" || classes[1] != "" || !math.IsNaN(get(NPSLatest, 1)) || !math.IsNaN(get(CESLatest, 0)) || get(Complaints90d, 1) != 0 ||
		!math.IsNaN(get(BoughtAfterComplaint, 1)) || !math.IsNaN(get(SatisfactionIndex, 1)) {
		t.Errorf("classes %v; b NPS %v; a CES %v", classes, get(NPSLatest, 1), get(CESLatest, 0))
	}
	// d ordered after its complaint; its only survey item is the worst effort score.
	if get(BoughtAfterComplaint, 2) != 1 || get(SatisfactionIndex, 2) != 0 || get(Complaints30d, 2) != 0 || get(Complaints90d, 2) != 1 {
		t.Errorf("d: bought after complaint %v, index %v, complaints 30d %v / 90d %v",
			get(BoughtAfterComplaint, 2), get(SatisfactionIndex, 2), get(Complaints30d, 2), get(Complaints90d, 2))
	}
}
