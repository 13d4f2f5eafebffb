package features

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

// richTx is a line with the optional columns the behaviour and price families use.
type richTx struct {
	cust, order, ts string
	cents           int64
	qty             int32
	disc            int64
	cat, channel    string
}

var richSchema = arrow.NewSchema([]arrow.Field{
	{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
	{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
	{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
	{Name: datasets.ColQuantity, Type: arrow.PrimitiveTypes.Int32},
	{Name: datasets.ColDiscount, Type: arrow.PrimitiveTypes.Int64},
	{Name: datasets.ColCategory, Type: arrow.BinaryTypes.String},
	{Name: datasets.ColChannel, Type: arrow.BinaryTypes.String},
}, nil)

func mustTime(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMicro()
}

// Customer p: four orders (Sat, Mon 19:30, Mon 20:00, Sat), two with
// discounts, a refund line, two channels, three categories. Customer q:
// one order on the cutoff day, Sunday 23:00 UTC, no quantity or channel.
var richFixture = []richTx{
	{"p", "P1", "2024-01-06T10:00:00Z", 4000, 2, 1000, "books", "web"},
	{"p", "P1", "2024-01-06T10:00:00Z", 1000, 1, 0, "music", "web"},
	{"p", "P2", "2024-03-04T19:30:00Z", 3000, 1, 0, "books", "store"},
	{"p", "R2", "2024-03-10T12:00:00Z", -1000, -1, 0, "books", "store"},
	{"p", "P3", "2024-05-20T20:00:00Z", 2000, 0, 500, "home", "web"},
	{"p", "P4", "2024-06-15T09:00:00Z", 1000, 2, 0, "books", "web"},
	{"q", "Q1", "2024-06-30T23:00:00Z", 500, 0, 0, "", ""},
}

var richFeedback = []datasets.Feedback{
	{CustomerID: "p", TS: 0, Kind: "survey"}, // times are set in buildRich
	{CustomerID: "p", Kind: "nps", Score: 6},
	{CustomerID: "p", Kind: "csat", Score: 3},
	{CustomerID: "p", Kind: "survey"},
	{CustomerID: "p", Kind: "complaint", Score: math.NaN()},
	{CustomerID: "p", Kind: "survey"},
	{CustomerID: "p", Kind: "perceived", Score: 5},
	{CustomerID: "p", Kind: "expected", Score: 6},
	{CustomerID: "p", Kind: "ces", Score: 3},
}

var richFeedbackTimes = []string{"2024-02-01T09:00:00Z", "2024-02-02T09:00:00Z", "2024-02-02T09:00:00Z", "2024-04-01T09:00:00Z",
	"2024-05-01T09:00:00Z", "2024-05-02T09:00:00Z", "2024-05-03T09:00:00Z", "2024-05-03T09:00:00Z", "2024-05-03T09:00:00Z"}

func feedbackAt(t testing.TB) []datasets.Feedback {
	fb := append([]datasets.Feedback(nil), richFeedback...)
	for i := range fb {
		fb[i].TS = mustTime(t, richFeedbackTimes[i])
	}
	return fb
}

func buildRich(t *testing.T, rows []richTx, fb []datasets.Feedback, cfg Config) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	cfg.Cutoff = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	b, err := NewBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	b.SetFeedback(fb)
	rec := richBatch(t, mem, rows)
	defer rec.Release()
	if err := b.Add(rec); err != nil {
		t.Fatal(err)
	}
	out := b.Finish()
	t.Cleanup(out.Release)
	return out
}

func richBatch(t testing.TB, mem memory.Allocator, rows []richTx) arrow.RecordBatch {
	rb := array.NewRecordBuilder(mem, richSchema)
	defer rb.Release()
	for _, r := range rows {
		rb.Field(0).(*array.StringBuilder).Append(r.cust)
		rb.Field(1).(*array.StringBuilder).Append(r.order)
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(mustTime(t, r.ts)))
		rb.Field(3).(*array.Int64Builder).Append(r.cents)
		rb.Field(4).(*array.Int32Builder).Append(r.qty)
		rb.Field(5).(*array.Int64Builder).Append(r.disc)
		rb.Field(6).(*array.StringBuilder).Append(r.cat)
		rb.Field(7).(*array.StringBuilder).Append(r.channel)
	}
	return rb.NewRecordBatch()
}

func checkColumns(t *testing.T, rec arrow.RecordBatch, want map[string][]float64) {
	t.Helper()
	for col, w := range want {
		got, err := Float64s(rec, col)
		if err != nil {
			t.Fatalf("%s: %v", col, err)
		}
		for i, v := range w {
			if math.IsNaN(v) != math.IsNaN(got[i]) || !math.IsNaN(v) && math.Abs(got[i]-v) > 1e-9 {
				t.Errorf("%s[%d] = %v, want %v", col, i, got[i], v)
			}
		}
	}
}

// sameCells reports every cell where the feature rows a and b differ, in
// the named columns (every column when none is named).
func sameCells(t *testing.T, a, b arrow.RecordBatch, what string, cols ...string) {
	t.Helper()
	if a.NumRows() != b.NumRows() {
		t.Fatalf("%s: %d rows against %d", what, a.NumRows(), b.NumRows())
	}
	if len(cols) == 0 {
		for c := range int(a.NumCols()) {
			cols = append(cols, a.ColumnName(c))
		}
	}
	for _, col := range cols {
		x, y := datasets.Column(a, col), datasets.Column(b, col)
		for i := range int(a.NumRows()) {
			if x.ValueStr(i) != y.ValueStr(i) {
				t.Errorf("%s[%d] %s: %s → %s", col, i, what, x.ValueStr(i), y.ValueStr(i))
			}
		}
	}
}

func checkStrings(t *testing.T, rec arrow.RecordBatch, col string, want ...string) {
	t.Helper()
	got, err := Strings(rec, col)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s[%d] = %q, want %q", col, i, got[i], want[i])
		}
	}
}

var testTiers = []Tier{{"bronze", 0, 1}, {"silver", 5000, 2}, {"gold", 9000, 4}}

// Expected values are computed by hand from richFixture; see the comments.
func TestBehaviourPriceAndProgrammeFixture(t *testing.T) {
	rec := buildRich(t, richFixture, feedbackAt(t), Config{Tiers: testTiers})
	nan := math.NaN()
	p8, p1, p2 := 8.0/11, 1.0/11, 2.0/11
	checkColumns(t, rec, map[string][]float64{ // p, q
		RepeatCustomer:       {1, 0},
		RepeatRate:           {0.75, 0},                     // 3 repeat days / 4 orders
		OrdersPerMonth:       {4 / (177 / daysPerMonth), 1}, // tenure 176 days (+1); q: at least one month
		AOVTrend:             {3000.0/8000 - 1, nan},        // (10+20) / (50+30) − 1
		SpendPrev90d:         {70, 0},                       // [01-03, 04-02): 50 + 30 − 10
		SpendVelocity:        {-0.4, 1},                     // (30 − 70) / 100
		OrderVelocity:        {0, 1},                        // (2 − 2) / 4
		LongestGapDays:       {77, nan},                     // 03-04 → 05-20
		WeekendShare:         {0.5, 1},                      // Sat, Mon, Mon, Sat; q: Sunday
		EveningShare:         {0.5, 1},                      // 19:30, 20:00; q: 23:00
		MainWeekday:          {1, 7},                        // Monday and Saturday tie: Monday
		MainHour:             {9, 23},                       // all tie: the earliest
		Channels:             {2, 0},                        //
		MainChannelShare:     {0.75, nan},                   // web: P1, P3, P4
		CategoryBreadth:      {3, 1},                        //
		CategoryEntropy:      {-(p8*math.Log2(p8) + p1*math.Log2(p1) + p2*math.Log2(p2)), 0},
		TopCategoryShare:     {p8, 1},                        // books 80 of 110
		BasketItems:          {1.5, nan},                     // 3 + 1 + 0 + 2 items / 4; q has no quantity
		BasketLines:          {1.25, 1},                      // 5 lines / 4 orders
		DiscountOrderShare:   {0.5, 0},                       // P1, P3
		DiscountSpendShare:   {7.0 / 11, 0},                  // (50 + 20) / 110
		DiscountDepth:        {(1.0/6 + 0.2) / 2, nan},       // 10/60 and 5/25
		FullPriceShare:       {0.6, 1},                       // 3 of 5 purchase lines
		ReturnRateLines:      {0.2, 0},                       // 1 returned / 5 bought
		RefundRate:           {1.0 / 11, 0},                  //
		NPSLatest:            {6, nan},                       //
		CSATMean:             {3, nan},                       //
		CESLatest:            {3, nan},                       //
		SatisfactionIndex:    {(0.6 + 0.5 + 4.0/6) / 3, nan}, //
		SurveyResponseRate:   {2.0 / 3, nan},                 // responses 02-02 and 05-03 to 3 invitations
		PerceivedMinusExp:    {-1, nan},                      // 5 − 6
		Complaints90d:        {1, 0},                         // 05-01
		DaysSinceComplaint:   {60, nan},                      //
		BoughtAfterComplaint: {1, nan},                       // P3 on 05-20
		TierRank:             {3, 1},                         // p: 100.00 and 4 orders → gold; q: 5.00, 1 → bronze
		MonthsInTier:         {1, 1},                         // end of May: 90.00 but 3 orders → silver
		TierChanges365d:      {3, 1},                         // gold←silver (May), silver←bronze (Feb), bronze←none (Dec)
	})
	checkStrings(t, rec, MainChannel, "web", "")
	checkStrings(t, rec, LoyaltyTier, "gold", "bronze")
	checkStrings(t, rec, NPSClass, "detractor", "")
}

// Hours and weekdays are read in the shop's time zone.
func TestHabitsInLocalTime(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	rec := buildRich(t, richFixture, nil, Config{Location: sh})
	// p: Sat 18:00, Tue 03:30, Tue 04:00, Sat 17:00; q: 2024-06-30 23:00 UTC is Monday 07:00.
	checkColumns(t, rec, map[string][]float64{WeekendShare: {0.5, 0}, EveningShare: {0.25, 0}, MainWeekday: {2, 1}, MainHour: {3, 7}})
}

// The satisfaction index follows the configured weights.
func TestSatisfactionWeights(t *testing.T) {
	rec := buildRich(t, richFixture, feedbackAt(t), Config{SatisfactionWeights: map[string]float64{"nps": 2, "csat": 1}})
	checkColumns(t, rec, map[string][]float64{SatisfactionIndex: {(2*0.6 + 0.5) / 3, math.NaN()}}) // CES weighs 0
	for _, bad := range []map[string]float64{{"nps": -1}, {"loyalty": 1}, {"nps": 0, "csat": 0}} {
		if err := (Config{Cutoff: time.Now(), SatisfactionWeights: bad}).Validate(); err == nil {
			t.Errorf("weights %v: want an error", bad)
		}
	}
}

// Nothing after the cutoff changes a feature of any family: later orders,
// refunds, discounts, channels and feedback of both customers.
func TestPointInTimeAllFamilies(t *testing.T) {
	base := buildRich(t, richFixture, feedbackAt(t), Config{Tiers: testTiers})
	later := append(append([]richTx(nil), richFixture[:6]...),
		richTx{"p", "P5", "2024-07-01T00:00:00Z", 9000, 5, 4000, "garden", "app"},
		richTx{"p", "R1", "2024-07-02T10:00:00Z", -4000, -2, 0, "books", "web"},
		richFixture[6],
		richTx{"q", "Q2", "2024-07-06T20:00:00Z", 100000, 3, 100, "toys", "app"})
	fb := append(feedbackAt(t),
		datasets.Feedback{CustomerID: "p", TS: mustTime(t, "2024-07-01T00:00:00Z"), Kind: "nps", Score: 10},
		datasets.Feedback{CustomerID: "p", TS: mustTime(t, "2024-07-03T00:00:00Z"), Kind: "complaint", Score: math.NaN()},
		datasets.Feedback{CustomerID: "p", TS: mustTime(t, "2024-07-04T00:00:00Z"), Kind: "cancel", Score: math.NaN()},
		datasets.Feedback{CustomerID: "p", TS: mustTime(t, "2024-07-05T00:00:00Z"), Kind: "subscribe", Score: math.NaN()},
		datasets.Feedback{CustomerID: "q", TS: mustTime(t, "2024-07-02T00:00:00Z"), Kind: "subscribe", Score: math.NaN()},
		datasets.Feedback{CustomerID: "q", TS: mustTime(t, "2024-07-03T00:00:00Z"), Kind: "survey"},
		datasets.Feedback{CustomerID: "q", TS: mustTime(t, "2024-07-04T00:00:00Z"), Kind: "csat", Score: 1})
	after := buildRich(t, later, fb, Config{Tiers: testTiers})
	if base.NumCols() != after.NumCols() || base.NumRows() != after.NumRows() {
		t.Fatalf("shapes differ")
	}
	sameCells(t, base, after, "changed")
}

// Tiers parse, print back, and reject thresholds that do not rise.
func TestParseTiers(t *testing.T) {
	ts, err := ParseTiers("bronze=0/1, silver=200/2,gold=500.50/4")
	if err != nil || len(ts) != 3 || ts[2] != (Tier{"gold", 50050, 4}) {
		t.Fatalf("ParseTiers = %+v, %v", ts, err)
	}
	if got := FormatTiers(ts); got != "bronze=0/1,silver=200/2,gold=500.50/4" {
		t.Errorf("FormatTiers = %q", got)
	}
	if FormatTiers(DefaultTiers) != "bronze=0/1,silver=200/2,gold=500/4,platinum=1500/8" {
		t.Errorf("default tiers = %s", FormatTiers(DefaultTiers))
	}
	for _, bad := range []string{"", "gold", "a=1/1,b=0/2", "a=1/2,b=1/2", "a=x/1", "a=1/0", "none=0/1", "a=0/1,a=5/2"} {
		if _, err := ParseTiers(bad); err == nil {
			t.Errorf("ParseTiers(%q): want an error", bad)
		}
	}
}

// Points: balance, windows, redemption rate and recency by hand; a
// cancelled order's counterpart takes its points back; nothing after the
// cutoff counts; without points columns every points feature is empty.
func TestPointsFeatures(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: datasets.ColCustomerID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColOrderID, Type: arrow.BinaryTypes.String},
		{Name: datasets.ColTS, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: datasets.ColAmountCents, Type: arrow.PrimitiveTypes.Int64},
		{Name: datasets.ColPointsEarned, Type: arrow.PrimitiveTypes.Int64},
		{Name: datasets.ColPointsRedeemed, Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	rows := []struct {
		cust, order, ts string
		cents, pe, pr   int64
	}{
		{"p", "O1", "2023-05-01T10:00:00Z", 10000, 100, 0},
		{"p", "O2", "2024-01-10T10:00:00Z", 5000, 50, 80},
		{"p", "O3", "2024-03-01T10:00:00Z", 2000, 20, 0},
		{"p", "O3", "2024-03-05T10:00:00Z", -2000, -20, 0}, // cancelled within the window
		{"p", "O4", "2024-07-10T10:00:00Z", 3000, 70, 100}, // after the cutoff
		{"q", "Q1", "2024-06-01T10:00:00Z", 1000, 0, 0},
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for _, r := range rows {
		rb.Field(0).(*array.StringBuilder).Append(r.cust)
		rb.Field(1).(*array.StringBuilder).Append(r.order)
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(mustTime(t, r.ts)))
		rb.Field(3).(*array.Int64Builder).Append(r.cents)
		rb.Field(4).(*array.Int64Builder).Append(r.pe)
		rb.Field(5).(*array.Int64Builder).Append(r.pr)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	b, err := NewBuilder(Config{Cutoff: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := b.Add(rec); err != nil {
		t.Fatal(err)
	}
	out := b.Finish()
	defer out.Release()
	nan := math.NaN()
	checkColumns(t, out, map[string][]float64{
		PointsBalance:       {70, 0},           // 100 + 50 + 20 − 20 − 80
		PointsEarned365d:    {50, 0},           // since 2023-07-02: 50 + 20 − 20
		PointsRedeemed365d:  {80, 0},           //
		RedemptionRate:      {80.0 / 150, nan}, // q earned nothing
		DaysSinceRedemption: {172, nan},        // 2024-01-10 → 06-30
	})
	plain := buildRich(t, richFixture, nil, Config{})
	checkColumns(t, plain, map[string][]float64{PointsBalance: {nan, nan}, RedemptionRate: {nan, nan}})
}

// Any tiers text ParseTiers accepts comes back the same from FormatTiers,
// with every tier needing more than the one before.
func FuzzParseTiers(f *testing.F) {
	for _, seed := range []string{"bronze=0/1, silver=200/2,gold=500.50/4", "a=1/1", "x=-1/2", "a/b=1/2", "gold tier=1.5/3,", "none=1/1", "a=1/1,a=2/2", "a=¥1,000/1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTiers(s)
		if err != nil {
			return
		}
		for i := 1; i < len(ts); i++ {
			if ts[i].MinSpendCents < ts[i-1].MinSpendCents || ts[i].MinOrders < ts[i-1].MinOrders {
				t.Fatalf("%q: tier %d needs less than tier %d: %+v", s, i, i-1, ts)
			}
		}
		again, err := ParseTiers(FormatTiers(ts))
		if err != nil || !slices.Equal(again, ts) {
			t.Fatalf("%q → %q → %+v, %v; want %+v", s, FormatTiers(ts), again, err, ts)
		}
	})
}
