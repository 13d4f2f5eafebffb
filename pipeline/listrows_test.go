package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/churn-dev/churn/datasets"
)

// testAsOf is the as-of day of the lists the tests make with mustList.
var testAsOf = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// mustList makes a list of test rows at testAsOf; what a row leaves empty
// and a list needs is filled in (risk tier low, segment Lost, last order
// 2025-01-01, the list's day).
func mustList(t *testing.T, rows []datasets.ScoreRow) *list {
	t.Helper()
	rows = slices.Clone(rows)
	for i := range rows {
		r := &rows[i]
		r.RiskTier, r.Segment = cmp.Or(r.RiskTier, "low"), cmp.Or(r.Segment, "Lost")
		r.LastOrderDate, r.ScoredAt = cmp.Or(r.LastOrderDate, "2025-01-01"), cmp.Or(r.ScoredAt, dateString(testAsOf))
	}
	l, err := listOf(rows, testAsOf)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A list's row is 104 bytes (and what the actions read beside it 32), and gives back the ScoreRow it was made of:
// every column, ranked or not, texts in any language, dates near and far.
func TestListRows(t *testing.T) {
	if n, m := unsafe.Sizeof(listRow{}), unsafe.Sizeof(actionInput{}); n != 104 || m != 32 {
		t.Errorf("a list row is %d bytes and its action input %d, want 104 and 32", n, m)
	}
	rows := []datasets.ScoreRow{
		{Rank: 1, CustomerID: "c-1", ChurnProbability: 0.9731, RiskTier: "high", RiskPermille: 1000, SegmentRiskPermille: 998, PAlive: 0.0213,
			ExpectedOrders: 0.125, PredictedCLV: 1234.56, ValueAtRisk: 1201.35, Segment: "Can't lose them", RFM: "155", LoyaltyTier: "gold",
			SatisfactionClass: "detractor", Reasons: "距上次购买已90天 | 90 days since the last order", SuggestedAction: "VIP outreach", Contact: true,
			LastOrderDate: "2025-10-02", ExpectedNextOrderDate: "2026-03-01", ModelVersion: "churn-7+clv-3", ScoredAt: "2025-12-31"},
		{Rank: 2, CustomerID: "=cmd", ChurnProbability: 0.5, RiskTier: "medium", RiskPermille: 500, PAlive: 1, ExpectedOrders: 12.345,
			PredictedCLV: 0, ValueAtRisk: 0, Segment: "New", RFM: "511", Control: true, LastOrderDate: "1969-12-31",
			ExpectedNextOrderDate: "2035-12-31", ModelVersion: "churn-7+clv-3", ScoredAt: "2025-12-31"},
		{Rank: 3, CustomerID: "c-3", RiskTier: "low", Segment: "Lost", LastOrderDate: "2025-12-31", ExpectedNextOrderDate: "2025-12-31",
			SuggestedAction: "No action", ModelVersion: "churn-7+clv-3", ScoredAt: "2025-12-31"},
	}
	l, err := listOf(rows, testAsOf)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.scoreRows(0, len(rows)); !slices.Equal(got, rows) {
		t.Errorf("ranked:\n got %+v\nwant %+v", got, rows)
	}
	if l.rows[1].lastDay != -1 || l.rows[2].nextDay != 0 || l.rows[0].nextDay != 60 || l.rows[2].action == 0 {
		t.Errorf("days %d, %d, %d; action code %d", l.rows[1].lastDay, l.rows[2].nextDay, l.rows[0].nextDay, l.rows[2].action)
	}
	unranked := slices.Clone(rows)
	for i := range unranked {
		unranked[i].Rank = 0
	}
	if l, err = listOf(unranked, testAsOf); err != nil || l.ranked || !slices.Equal(l.scoreRows(1, 3), unranked[1:]) {
		t.Errorf("unranked: %v", err)
	}
	// What a list could not have written is an error naming the customer.
	for _, tc := range []struct {
		f    func(*datasets.ScoreRow)
		want string
	}{
		{func(r *datasets.ScoreRow) { r.RiskTier = "extreme" }, `risk tier "extreme"`},
		{func(r *datasets.ScoreRow) { r.Segment = "Whales" }, `segment "Whales"`},
		{func(r *datasets.ScoreRow) { r.LastOrderDate = "2025-13-01" }, `last order date "2025-13-01"`},
		{func(r *datasets.ScoreRow) { r.LastOrderDate = "" }, `last order date ""`},
		{func(r *datasets.ScoreRow) { r.ExpectedNextOrderDate = "1 March" }, `expected next order date "1 March"`},
		{func(r *datasets.ScoreRow) { r.ModelVersion = "churn-6+clv-3" }, `model version "churn-6+clv-3"`},
		{func(r *datasets.ScoreRow) { r.ScoredAt = "2025-12-30" }, `scoring day "2025-12-30"`},
		{func(r *datasets.ScoreRow) { r.Rank = 7 }, `rank "7"`},
		{func(r *datasets.ScoreRow) { r.RiskPermille = -1 }, `risk permille`},
	} {
		bad := slices.Clone(rows)
		tc.f(&bad[1])
		if _, err := listOf(bad, testAsOf); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"=cmd"`) {
			t.Errorf("%s: error %v", tc.want, err)
		}
	}
}

// Every segment features.Segment gives has a code, and risk tiers keep
// their order.
func TestListCodes(t *testing.T) {
	names, index := segmentNames()
	if len(names) != 11 || len(index) != 11 {
		t.Errorf("segments %q", names)
	}
	for r := int8(0); r <= 6; r++ {
		for f := int8(0); f <= 6; f++ {
			if names[segmentCode(r, f)] == "" {
				t.Errorf("segment of %d, %d", r, f)
			}
		}
	}
	cfg := Config{RiskHigh: 0.7, RiskMedium: 0.4}
	for p, want := range map[float64]string{0.1: "low", 0.4: "medium", 0.69: "medium", 0.7: "high", 1: "high", math.NaN(): "low"} {
		if got := riskTier(cfg, p); got != want {
			t.Errorf("risk tier of %v: %s, want %s", p, got, want)
		}
	}
	var cb codebook
	a, _ := cb.code("gold")
	b, _ := cb.code(strings.Clone("gold"))
	if a != b || cb.str(a) != "gold" {
		t.Errorf("codes %d, %d", a, b)
	}
	for i := len(cb.strs); i < maxCodes; i++ {
		if _, err := cb.code(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cb.code("one too many"); err == nil {
		t.Error("a codebook past its bound: want an error")
	}
}

// listOf makes the list of rows, which must be one list's (list.set).
func listOf(rows []datasets.ScoreRow, asOf time.Time) (*list, error) {
	version := ""
	if len(rows) > 0 {
		version = rows[0].ModelVersion
	}
	l := newList(len(rows), asOf, version)
	l.ranked = len(rows) > 0 && rows[0].Rank == 1
	for i := range rows {
		if err := l.set(i, &rows[i]); err != nil {
			return nil, err
		}
	}
	l.memoDates()
	return l, nil
}

// The list's order split around a pivot and sorted on two workers is the
// order of one sort: value at risk and probability with many ties (a few
// distinct values), customer ids deciding; and rows with a NaN take the
// one-core sort.
func TestRankRowsParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1 << 15, 100_000} {
		rows := make([]listRow, n)
		for i := range rows {
			rows[i] = listRow{id: fmt.Sprintf("c%07d", rng.IntN(1<<30)) + strconv.Itoa(i), valueAtRisk: float64(rng.IntN(50)) / 4, prob: float64(rng.IntN(20)) / 20}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, compareRank)
		for _, workers := range []int{1, 2, 4} {
			l := &list{rows: slices.Clone(rows)}
			rankRows(l, workers)
			if !l.ranked || !slices.Equal(l.rows, want) {
				t.Fatalf("%d rows, %d workers: not the order of one sort", n, workers)
			}
		}
		for i := range want {
			if i > 0 && compareRank(want[i-1], want[i]) >= 0 {
				t.Fatalf("%d rows: rows %d and %d out of order", n, i-1, i)
			}
		}
		rows[n/3].valueAtRisk = math.NaN()
		l := &list{rows: slices.Clone(rows)}
		rankRows(l, 2)
		want = slices.Clone(rows)
		slices.SortFunc(want, compareRank)
		if !slices.EqualFunc(l.rows, want, func(a, b listRow) bool { return a.id == b.id }) {
			t.Errorf("%d rows with a NaN: not the one-core sort's order", n)
		}
	}
}
