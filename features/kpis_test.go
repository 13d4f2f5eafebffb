package features

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
)

// kpiFixture: a orders in Jan, Feb (with a refund) and Apr; b in Feb and
// Mar; c in Mar (and May, after the cutoff); d's only order is refunded in
// full within the cancellation window, so d is no customer.
var kpiFixture = []richTx{
	{"a", "A1", "2024-01-05T10:00:00Z", 3000, 1, 0, "x", "web"},
	{"a", "A2", "2024-02-10T10:00:00Z", 4000, 1, 0, "x", "web"},
	{"a", "R2", "2024-02-20T10:00:00Z", -500, -1, 0, "x", "web"},
	{"a", "A3", "2024-04-02T10:00:00Z", 1000, 1, 0, "x", "web"},
	{"b", "B1", "2024-02-15T10:00:00Z", 2000, 1, 0, "x", "web"},
	{"b", "B2", "2024-03-01T10:00:00Z", 2000, 1, 0, "x", "web"},
	{"c", "C1", "2024-03-10T10:00:00Z", 500, 1, 0, "x", "web"},
	{"c", "C2", "2024-05-01T10:00:00Z", 700, 1, 0, "x", "web"},
	{"d", "D1", "2024-01-01T10:00:00Z", 8000, 1, 0, "x", "web"},
	{"d", "D1", "2024-01-10T10:00:00Z", -8000, -1, 0, "x", "web"},
}

func kpiBook(t *testing.T, rows []richTx, fb []datasets.Feedback) *KPIBook {
	t.Helper()
	cutoff := time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC)
	book, err := NewKPIBook(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), cutoff, testTiers)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	b, err := NewBuilder(Config{Cutoff: cutoff, Tiers: testTiers})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	b.CollectKPIs(book)
	b.SetFeedback(fb)
	rec := richBatch(t, mem, rows)
	defer rec.Release()
	if err := b.Add(rec); err != nil {
		t.Fatal(err)
	}
	out := b.Finish()
	defer out.Release()
	if out.NumRows() != 0 {
		t.Errorf("KPI mode wrote %d feature rows", out.NumRows())
	}
	return book
}

func kpiFeedback(t *testing.T) []datasets.Feedback {
	return []datasets.Feedback{
		{CustomerID: "a", TS: mustTime(t, "2024-01-20T00:00:00Z"), Kind: "nps", Score: 10},
		{CustomerID: "a", TS: mustTime(t, "2024-02-01T00:00:00Z"), Kind: "csat", Score: 4},
		{CustomerID: "a", TS: mustTime(t, "2024-03-03T00:00:00Z"), Kind: "complaint", Score: math.NaN()},
		{CustomerID: "b", TS: mustTime(t, "2024-03-05T00:00:00Z"), Kind: "nps", Score: 5},
		{CustomerID: "b", TS: mustTime(t, "2024-03-05T00:00:00Z"), Kind: "ces", Score: 2},
		{CustomerID: "b", TS: mustTime(t, "2024-04-20T00:00:00Z"), Kind: "nps", Score: 0}, // after the cutoff
	}
}

// Counts and rates by hand (see kpiFixture): activity a JF-A, b FM, c M.
func TestKPIBookByHand(t *testing.T) {
	book := kpiBook(t, kpiFixture, kpiFeedback(t))
	rows := book.Rows(time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC))
	get := func(month, seg string) KPI {
		for _, r := range rows {
			if r.Month == month && r.Segment == seg {
				return r
			}
		}
		t.Fatalf("no row %s %s", month, seg)
		return KPI{}
	}
	type counts struct{ customers, repeaters, active, new, retained, reactivated, prev, churned, orders, gross, net int64 }
	c := func(k KPI) counts {
		return counts{k.Customers, k.Repeaters, k.Active, k.New, k.Retained, k.Reactivated, k.PrevActive, k.Churned, k.Orders, k.GrossCents, k.NetCents}
	}
	want := map[[2]string]counts{
		{"2024-01", "all"}:    {1, 0, 1, 1, 0, 0, 0, 0, 1, 3000, 3000},
		{"2024-02", "all"}:    {2, 1, 2, 1, 1, 0, 1, 0, 2, 6000, 5500},
		{"2024-03", "all"}:    {3, 2, 2, 1, 1, 0, 2, 1, 2, 2500, 2500},
		{"2024-04", "all"}:    {3, 2, 1, 0, 0, 1, 2, 2, 1, 1000, 1000},
		{"2024-01", "none"}:   {1, 0, 1, 1, 0, 0, 0, 0, 1, 3000, 3000}, // a is new
		{"2024-02", "none"}:   {1, 0, 1, 1, 0, 0, 0, 0, 1, 2000, 2000}, // b is new
		{"2024-02", "bronze"}: {1, 1, 1, 0, 1, 0, 1, 0, 1, 4000, 3500}, // a: 30.00, 1 order at Feb 1
		{"2024-03", "none"}:   {1, 0, 1, 1, 0, 0, 0, 0, 1, 500, 500},   // c
		{"2024-03", "bronze"}: {1, 1, 1, 0, 1, 0, 1, 0, 1, 2000, 2000}, // b: 20.00, 1 order at Mar 1
		{"2024-03", "silver"}: {1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0},       // a: 65.00, 2 orders; lapsed
		{"2024-04", "bronze"}: {2, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0},       // b (40.00, 2 orders), c
		{"2024-04", "silver"}: {1, 1, 1, 0, 0, 1, 0, 0, 1, 1000, 1000}, // a comes back
	}
	for k, w := range want {
		if got := c(get(k[0], k[1])); got != w {
			t.Errorf("%s %s: %+v, want %+v", k[0], k[1], got, w)
		}
	}
	if n := len(rows); n != len(want) {
		t.Errorf("%d rows, want %d (segments without customers are left out)", n, len(want))
	}
	close := func(name string, got, want float64) {
		t.Helper()
		if math.IsNaN(want) != math.IsNaN(got) || !math.IsNaN(want) && math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	jan, feb, mar, apr := get("2024-01", "all"), get("2024-02", "all"), get("2024-03", "all"), get("2024-04", "all")
	close("Jan retention", jan.RetentionRate, math.NaN()) // no base
	close("Feb retention", feb.RetentionRate, 1)
	close("Mar retention", mar.RetentionRate, 0.5)
	close("Mar churn", mar.ChurnRate, 0.5)
	close("Apr churn", apr.ChurnRate, 1)
	close("Mar repeat rate", mar.RepeatPurchaseRate, 2.0/3)
	close("Feb AOV", feb.AvgOrderValue, 30)
	close("Feb revenue per customer", feb.RevenuePerCustomer, 27.5)
	close("Feb return rate", feb.ReturnRate, 500.0/6000)
	close("Feb return line rate", feb.ReturnLineRate, 0.5)
	close("Jan NPS", jan.NPS, 100)        // one promoter
	close("Mar NPS", mar.NPS, -100)       // one detractor; April's answer is after the cutoff
	close("Feb NPS", feb.NPS, math.NaN()) // no answer
	close("Feb CSAT", feb.CSATMean, 4)    //
	close("Mar CES", mar.CESMean, 2)      //
	close("Mar complaint rate", mar.ComplaintRate, 0.5)
	if !mar.Complete || apr.Complete {
		t.Errorf("complete: Mar %v, Apr %v (the cutoff 04-15 is mid-month)", mar.Complete, apr.Complete)
	}
	if got := fmt.Sprint(book.CohortSize, book.Cohorts); got != "[1 1 1 0] [[1 1 0 1] [1 1 0] [1 0] [0]]" {
		t.Errorf("cohorts = %s", got)
	}
}

// A return in a month without an order counts in that month's revenue,
// refunds and returned lines, in "all" and in the customer's segment.
func TestKPIReturnInAMonthWithoutOrder(t *testing.T) {
	rows := []richTx{
		{"e", "E1", "2024-01-05T10:00:00Z", 5000, 2, 0, "x", "web"},
		{"e", "R1", "2024-03-10T10:00:00Z", -1000, -1, 0, "x", "web"},
	}
	book := kpiBook(t, rows, nil)
	var mar []KPI
	for _, r := range book.Rows(time.Date(2024, 4, 15, 0, 0, 0, 0, time.UTC)) {
		if r.Month == "2024-03" {
			mar = append(mar, r)
		}
	}
	if len(mar) != 2 { // all, and e's tier
		t.Fatalf("March rows %+v", mar)
	}
	for _, k := range mar {
		if k.Orders != 0 || k.Active != 0 || k.NetCents != -1000 || k.RefundCents != 1000 || k.ReturnLines != 1 || k.GrossCents != 0 || k.Lines != 0 {
			t.Errorf("March %s: orders %d, active %d, net %d, refunds %d, returned lines %d, gross %d, lines %d; want 0, 0, −1000, 1000, 1, 0, 0",
				k.Segment, k.Orders, k.Active, k.NetCents, k.RefundCents, k.ReturnLines, k.GrossCents, k.Lines)
		}
	}
}

// A later event changes no KPI up to the cutoff.
func TestKPIPointInTime(t *testing.T) {
	base := kpiBook(t, kpiFixture, kpiFeedback(t))
	later := append(append([]richTx(nil), kpiFixture[:7]...), kpiFixture[7],
		richTx{"c", "C3", "2024-04-16T00:00:00Z", 9000, 1, 0, "x", "web"}, kpiFixture[8], kpiFixture[9])
	fb := append(kpiFeedback(t), datasets.Feedback{CustomerID: "c", TS: mustTime(t, "2024-04-16T00:00:00Z"), Kind: "complaint"})
	after := kpiBook(t, later, fb)
	if fmt.Sprint(base) != fmt.Sprint(after) {
		t.Errorf("KPIs changed by events after the cutoff")
	}
}

// Two half books merge into the whole.
func TestKPIBookMerge(t *testing.T) {
	whole := kpiBook(t, kpiFixture, kpiFeedback(t))
	fb := kpiFeedback(t)
	a := kpiBook(t, kpiFixture[:4], fb[:3])
	b := kpiBook(t, kpiFixture[4:], fb[3:])
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(whole) {
		t.Errorf("merged book differs from the whole")
	}
}
