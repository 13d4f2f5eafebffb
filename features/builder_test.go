package features

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

type tx struct {
	cust, order, ts string
	cents           int64
	cat             string
}

var txSchema = arrow.NewSchema([]arrow.Field{
	{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
	{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
	{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
	{Name: datasets.ColCategory, Type: arrow.BinaryTypes.String},
}, nil)

// batches builds record batches of at most size rows (so customers span batches).
func batches(t testing.TB, mem memory.Allocator, rows []tx, size int) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for start := 0; start < len(rows); start += size {
		b := array.NewRecordBuilder(mem, txSchema)
		for _, r := range rows[start:min(start+size, len(rows))] {
			ts, err := time.Parse(time.RFC3339, r.ts)
			if err != nil {
				t.Fatal(err)
			}
			b.Field(0).(*array.StringBuilder).Append(r.cust)
			b.Field(1).(*array.StringBuilder).Append(r.order)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
			b.Field(3).(*array.Int64Builder).Append(r.cents)
			b.Field(4).(*array.StringBuilder).Append(r.cat)
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

var fixture = []tx{
	{"a", "A1", "2024-01-10T10:00:00Z", 3000, "books"},
	{"a", "A1", "2024-01-10T10:00:00Z", 2000, "music"},
	{"a", "A2", "2024-01-10T15:00:00Z", 1000, "books"},
	{"a", "A3", "2024-03-01T09:00:00Z", 4000, "home"},
	{"a", "R3", "2024-03-15T09:00:00Z", -1000, ""},
	{"a", "A4", "2024-06-20T12:00:00Z", 2500, "books"},
	{"a", "A5", "2024-07-15T12:00:00Z", 6000, "books"}, // in the horizon: label only
	{"a", "A6", "2024-12-01T12:00:00Z", 500, "books"},  // after the horizon: ignored
	{"b", "B1", "2024-06-30T23:59:59Z", 1500, "toys"},  // on the cutoff day: observed
	{"b", "B2", "2024-07-01T00:00:00Z", 700, "toys"},   // first instant after: future
	{"c", "C1", "2024-07-02T00:00:00Z", 900, "toys"},   // not a customer yet at the cutoff
	{"d", "", "2023-01-01T08:00:00Z", 10000, "garden"}, // no order id: the row is the order
}

func build(t *testing.T, rows []tx, labelled bool, batchSize int) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	b, err := NewBuilder(Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Horizon: 90, Labelled: labelled})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	for _, rec := range batches(t, mem, rows, batchSize) {
		if err := b.Add(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	rec := b.Finish()
	t.Cleanup(rec.Release)
	return rec
}

func value(t *testing.T, rec arrow.RecordBatch, col string, row int) float64 {
	t.Helper()
	v, err := Float64s(rec, col)
	if err != nil {
		t.Fatal(err)
	}
	return v[row]
}

// Expected values are computed by hand from the fixture (see comments).
func TestBuilderFixture(t *testing.T) {
	for _, size := range []int{1, 3, 100} { // customers spanning batches must not matter
		rec := build(t, fixture, true, size)
		ids, _ := Strings(rec, CustomerID)
		if len(ids) != 3 || ids[0] != "a" || ids[1] != "b" || ids[2] != "d" {
			t.Fatalf("batch %d: customers = %v, want [a b d]", size, ids)
		}
		day := func(s string) float64 { tm, _ := time.Parse(time.DateOnly, s); return float64(tm.Unix() / 86400) }
		want := map[string][3]float64{ // a, b, d
			FirstOrderDate:   {day("2024-01-10"), day("2024-06-30"), day("2023-01-01")},
			LastOrderDate:    {day("2024-06-20"), day("2024-06-30"), day("2023-01-01")},
			RecencyDays:      {10, 0, 546},
			TenureDays:       {172, 0, 546},
			Orders:           {4, 1, 1},            // A1..A4; refunds are not orders
			SpendCents:       {11500, 1500, 10000}, // 50+10+40−10+25
			AvgOrderValue:    {31.25, 15, 100},     // gross 125.00 / 4 orders
			BTYDX:            {2, 0, 0},            // days 01-10, 03-01, 06-20
			BTYDTx:           {162, 0, 0},          // 06-20 − 01-10
			BTYDT:            {172, 0, 546},        // cutoff − first day
			BTYDMeanSpend:    {32.5, 0, 0},         // (40 + 25) / 2; the first day is excluded
			Orders30d:        {1, 1, 0},            // since 06-01
			Orders90d:        {1, 1, 0},            // since 04-02
			Orders365d:       {4, 1, 0},            //
			OrdersPrev90d:    {3, 0, 0},            // [01-03, 04-02)
			Spend90d:         {25, 15, 0},          //
			Spend365d:        {115, 15, 0},         //
			Trend90d:         {-2, 1, 0},           // 1 − 3
			GapMeanDays:      {81, math.NaN(), math.NaN()},
			GapStdDays:       {30, math.NaN(), math.NaN()}, // gaps 51 and 111
			OverdueRatio:     {10.0 / 81, math.NaN(), math.NaN()},
			ActiveMonths:     {3, 1, 0},      // Jan, Mar, Jun
			CategoryBreadth:  {3, 1, 1},      // books, music, home
			RefundRate:       {0.08, 0, 0},   // 10 / 125
			LabelChurned:     {0, 0, 1},      // a buys 07-15, b on 07-01 00:00
			LabelFutureOrd:   {1, 1, 0},      // A6 is after the horizon
			LabelFutureSpend: {6000, 700, 0}, //
			LabelFutureDays:  {1, 1, 0},      //
		}
		for col, w := range want {
			for i, v := range w {
				got := value(t, rec, col, i)
				if math.IsNaN(v) != math.IsNaN(got) || !math.IsNaN(v) && math.Abs(got-v) > 1e-9 {
					t.Errorf("batch %d: %s[%s] = %v, want %v", size, col, ids[i], got, v)
				}
			}
		}
	}
}

// A purchase after the cutoff changes no feature, only labels.
func TestPointInTime(t *testing.T) {
	base := build(t, fixture, true, 100)
	later := append(append([]tx(nil), fixture[:11]...), fixture[11], tx{"d", "D2", "2024-07-05T10:00:00Z", 1234, "new"})
	after := build(t, later, true, 100)
	for _, f := range baseFields[1:] {
		a, _ := Float64s(base, f.Name)
		b, _ := Float64s(after, f.Name)
		for i := range a {
			if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
				t.Errorf("%s changed for row %d: %v → %v", f.Name, i, a[i], b[i])
			}
		}
	}
	if value(t, after, LabelChurned, 2) != 0 || value(t, after, LabelFutureSpend, 2) != 1234 {
		t.Errorf("labels of d did not see the purchase in the horizon")
	}
}

func TestUnlabelled(t *testing.T) {
	rec := build(t, fixture, false, 100)
	if HasColumn(rec, LabelChurned) {
		t.Error("unlabelled snapshot has label columns")
	}
}

func TestUnsortedInput(t *testing.T) {
	mem := memory.DefaultAllocator
	b, _ := NewBuilder(Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)})
	defer b.Release()
	recs := batches(t, mem, []tx{{"b", "1", "2024-01-01T00:00:00Z", 1, ""}, {"a", "2", "2024-01-01T00:00:00Z", 1, ""}}, 10)
	if err := b.Add(recs[0]); err == nil {
		t.Error("want an error for input not sorted by customer")
	}
}

func TestQuintileScoreAndSegments(t *testing.T) {
	sorted := []float64{1, 1, 1, 1, 1, 1, 2, 3, 4, 5}
	tests := []struct {
		v    float64
		want int8
	}{{1, 2}, {2, 4}, {3, 4}, {4, 5}, {5, 5}, {0, 1}}
	for _, tc := range tests {
		// mid-rank share: 1 → 3/10 → 2; 2 → 6.5/10 → 4; 4 → 8.5/10 → 5
		if got := QuintileScore(sorted, tc.v); got != tc.want {
			t.Errorf("QuintileScore(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for r := int8(1); r <= 5; r++ {
		for f := int8(1); f <= 5; f++ {
			seen[Segment(r, f)] = true
		}
	}
	if len(seen) != 11 {
		t.Errorf("R×F grid gives %d segments, want the standard 11: %v", len(seen), seen)
	}
	if Segment(5, 5) != "Champions" || Segment(1, 1) != "Lost" || Segment(1, 5) != "Can't lose them" || Segment(5, 1) != "New" {
		t.Error("segment corners are wrong")
	}
}

func TestRepeatPurchaseDays(t *testing.T) {
	mem := memory.DefaultAllocator
	recs := batches(t, mem, fixture, 4)
	days, err := RepeatPurchaseDays(datasets.RecordChunks(recs))
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) int64 { tm, _ := time.Parse(time.DateOnly, s); return tm.Unix() / 86400 }
	// a: first day 01-10 (two orders), repeats 03-01, 06-20, 07-15, 12-01 (refund day 03-15 is not a purchase);
	// b: repeat 07-01; c and d: none.
	want := []int64{d("2024-03-01"), d("2024-06-20"), d("2024-07-15"), d("2024-12-01"), d("2024-07-01")}
	if fmt.Sprint(days) != fmt.Sprint(want) {
		t.Errorf("repeat days = %v, want %v", days, want)
	}
}

func TestDiscreteSummary(t *testing.T) {
	recs := batches(t, memory.DefaultAllocator, fixture, 5)
	ids, x, tx, n, err := DiscreteSummary(datasets.RecordChunks(recs), time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), 30)
	if err != nil {
		t.Fatal(err)
	}
	// a: first 01-10; 03-01 is day 51 → opportunity 1, 06-20 is day 162 → 5; n = 172/30 = 5.
	// b: first 06-30, n = 0; d: first 2023-01-01, n = 546/30 = 18, no repeats. c starts after the cutoff.
	want := "[a b d] [2 0 0] [5 0 0] [5 0 18]"
	if got := fmt.Sprint(ids, x, tx, n); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Holdout to 2024-12-31: a's opportunities 6..11 (days 180..359 after 01-10);
	// 07-15 (day 187) is in 6 and 12-01 (day 326) in 10: x* = 2, n* = 356/30 − 5 = 6.
	// b: day 1 (07-01) is opportunity 0, the first one's own: x* = 0, n* = 6.
	h, err := DiscreteHoldout(datasets.RecordChunks(recs), time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), 30)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(h.XStar, h.NStar); got != "[2 0 0] [6 6 6]" {
		t.Errorf("holdout x*, n* = %s", got)
	}
}

// The catalogue documents every column a labelled snapshot writes, in
// order, and nothing else.
func TestCatalogueCoversSchema(t *testing.T) {
	var want []string
	for _, f := range BuilderSchema(false).Fields() {
		want = append(want, f.Name)
	}
	for _, f := range rfmFields {
		want = append(want, f.Name)
	}
	for _, f := range labelFields {
		want = append(want, f.Name)
	}
	var got []string
	for _, e := range Catalogue {
		got = append(got, e.Name)
		if e.EN == "" || e.ZH == "" {
			t.Errorf("%s: meaning missing in English or Chinese", e.Name)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("catalogue columns\n%v\nschema columns\n%v", got, want)
	}
}

// docs/FEATURES.md carries the generated catalogue verbatim.
func TestCatalogueInDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/FEATURES.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), CatalogueMarkdown()) {
		t.Error("docs/FEATURES.md is out of date: paste the output of churn features --catalogue")
	}
}

func TestCohortRepeatDays(t *testing.T) {
	recs := batches(t, memory.DefaultAllocator, fixture, 4)
	d := func(s string) int64 { tm, _ := time.Parse(time.DateOnly, s); return tm.Unix() / 86400 }
	// First days: a 2024-01-10, b 06-30, c 07-02, d 2023-01-01. Cohort up to
	// 06-30 leaves c out; repeats before 2024-09-01: a's 03-01, 06-20, 07-15; b's 07-01.
	// The same with the customer ids as a dictionary, as the warehouse reader gives them.
	dict := make([]arrow.RecordBatch, len(recs))
	for k, rec := range recs {
		dict[k] = withDictionaries(t, memory.DefaultAllocator, rec, datasets.ColCustomerID)
		defer dict[k].Release()
	}
	for _, rs := range [][]arrow.RecordBatch{recs, dict} {
		repeat, first, err := CohortRepeatDays(datasets.RecordChunks(rs), d("2024-06-30"), d("2024-09-01"))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(repeat) != fmt.Sprint([]int64{d("2024-03-01"), d("2024-06-20"), d("2024-07-15"), d("2024-07-01")}) ||
			fmt.Sprint(first) != fmt.Sprint([]int64{d("2024-01-10"), d("2024-06-30"), d("2023-01-01")}) {
			t.Errorf("%s ids: repeat %v first %v", rs[0].Schema().Field(0).Type, repeat, first)
		}
	}
}

// The purchase-day readers refuse transactions out of customer order, or
// without the columns they read, naming what is wrong.
func TestPurchaseDaysRefuseBadInput(t *testing.T) {
	recs := batches(t, memory.DefaultAllocator, fixture, 4)
	reversed := slices.Clone(recs)
	slices.Reverse(reversed)
	if _, err := RepeatPurchaseDays(datasets.RecordChunks(reversed)); err == nil || !strings.Contains(err.Error(), "not sorted by customer_id") {
		t.Errorf("batches out of order: %v", err)
	}
	cols := []arrow.Array{recs[0].Column(0)}
	narrow := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{recs[0].Schema().Field(0)}, nil), cols, recs[0].NumRows())
	defer narrow.Release()
	if _, err := RepeatPurchaseDays(datasets.RecordChunks([]arrow.RecordBatch{narrow})); err == nil || !strings.Contains(err.Error(), "need text customer_id") {
		t.Errorf("no timestamp or amount: %v", err)
	}
}

// The numeric columns the churn models leave out are the ones
// docs/FEATURES.md names, and no others.
func TestModelColumnsAsDocumented(t *testing.T) {
	left := []string{FirstOrderDate, LastOrderDate, SpendCents, BTYDTx, BTYDT, BTYDMeanSpend, Spend30d, RepeatCustomer, SpendPrev90d, MainWeekday, MainHour} // schema order
	var got []string
	for _, f := range BuilderSchema(false).Fields() {
		if f.Type.ID() != arrow.STRING && !slices.Contains(ModelColumns, f.Name) {
			got = append(got, f.Name)
		}
	}
	if !slices.Equal(got, left) {
		t.Errorf("numeric columns outside ModelColumns: %v, documented %v", got, left)
	}
	doc, err := os.ReadFile("../docs/FEATURES.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), "The churn classifier uses")
	para := string(doc[i : i+strings.Index(string(doc[i:]), "\n\n")])
	for _, name := range left {
		if !strings.Contains(para, name) {
			t.Errorf("docs/FEATURES.md does not say %s is left out", name)
		}
	}
}

// Builders of several cutoffs fed one decoder's lines (a pass building
// several snapshots) write the rows each writes when fed the batches
// alone, whatever the batch size (customers span batches).
func TestSharedDecoderEqualsAdd(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	cfgs := []Config{
		{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Horizon: 90, Labelled: true},
		{Cutoff: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), Horizon: 30, Labelled: true},
		{Cutoff: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, size := range []int{1, 3, 100} {
		recs := batches(t, mem, fixture, size)
		shared, alone := make([]*Builder, len(cfgs)), make([]*Builder, len(cfgs))
		for k, c := range cfgs {
			var err error
			if shared[k], err = NewBuilder(c); err != nil {
				t.Fatal(err)
			}
			if alone[k], err = NewBuilder(c); err != nil {
				t.Fatal(err)
			}
		}
		dec := NewLineDecoder(false)
		for _, rec := range recs {
			ls, err := dec.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			for k := range cfgs {
				shared[k].AddLines(ls)
				if err := alone[k].Add(rec); err != nil {
					t.Fatal(err)
				}
			}
			rec.Release()
		}
		for k := range cfgs {
			a, b := shared[k].Finish(), alone[k].Finish()
			if a.NumRows() == 0 || !array.RecordEqual(a, b) {
				t.Errorf("batch size %d, cutoff %s: shared decoder rows differ (%d vs %d rows)", size, cfgs[k].Cutoff.Format(time.DateOnly), a.NumRows(), b.NumRows())
			}
			a.Release()
			b.Release()
			shared[k].Release()
			alone[k].Release()
		}
	}
}

// fnv1a is hash/fnv's 64-bit FNV-1a, of strings and of byte slices.
func TestFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "O-000123", "客户ID", string([]byte{0, 255, 17})} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if fnv1a(s) != h.Sum64() || fnv1a([]byte(s)) != h.Sum64() {
			t.Errorf("%q: %x, %x; hash/fnv %x", s, fnv1a(s), fnv1a([]byte(s)), h.Sum64())
		}
	}
}

// keyHash tells apart every order id of a large shop's kind, ids one byte
// apart at every position, and ids that differ only in trailing zero bytes
// or length; its value is fixed (little-endian words on every platform).
func TestKeyHashDistinct(t *testing.T) {
	seen := make(map[uint64]string, 1<<21)
	add := func(s string) {
		t.Helper()
		h := keyHash([]byte(s))
		if o, ok := seen[h]; ok && o != s {
			t.Fatalf("keyHash(%q) = keyHash(%q) = %x", s, o, h)
		}
		seen[h] = s
	}
	for c := range 200_000 {
		for line := 1; line <= 8; line++ {
			add(fmt.Sprintf("O%08d-%d", c, line))
		}
		add(fmt.Sprint(c))
	}
	base := []byte("INV-2025-000123456")
	for n := range len(base) + 1 {
		add(string(base[:n]))
		add(string(base[:n]) + "\x00")
		for i := range n {
			b := []byte(string(base[:n]))
			for _, d := range []byte{1, 2, 128} {
				b[i] ^= d
				add(string(b))
				b[i] ^= d
			}
		}
	}
	if got := keyHash([]byte("O00000001-1")); got != 0x8387f841cbec3798 {
		t.Errorf("keyHash(O00000001-1) = %#x, want 0x8387f841cbec3798", got)
	}
}
