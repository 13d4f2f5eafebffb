package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// Uplift of a September list over the quarter after it, against a brute
// force count over the warehouse rows. The synthetic shop contacts nobody,
// so the two groups should not differ: the intervals must cover 0.
func TestUpliftEndToEnd(t *testing.T) {
	work := t.TempDir()
	dir := shopDir(t)
	list := time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC)
	cfg := Config{Workdir: work, Buckets: 4, ControlShare: 0.2}
	if _, err := Run(context.Background(), cfg, list, IngestInput{Transactions: filepath.Join(dir, "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	res, err := Uplift(context.Background(), cfg, list, asOf)
	if err != nil {
		t.Fatal(err)
	}
	rows := readList(t, filepath.Join(datasets.ListDir(work, "2025-09-30"), datasets.RetentionListCSV))
	var last int64
	for _, r := range rows {
		if r.Contact {
			last = r.Rank
		}
	}
	group := map[string]int{}
	var n [2]int
	for _, r := range rows {
		if r.Rank <= last && (r.Contact || r.Control) {
			g := map[bool]int{true: 0, false: 1}[r.Contact]
			group[r.CustomerID] = g
			n[g]++
		}
	}
	from, to := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	ordered := map[string]bool{}
	for b := range 4 {
		txs, err := datasets.WarehouseBucketRows(work, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			if _, ok := group[tx.CustomerID]; ok && tx.TS >= from && tx.TS < to && tx.AmountCents >= 0 && !datasets.IsNonProduct(tx.LineKind) {
				ordered[tx.CustomerID] = true
			}
		}
	}
	var kept [2]int
	for id := range ordered {
		kept[group[id]]++
	}
	if res.Contacted.Customers != n[0] || res.Control.Customers != n[1] || res.Contacted.Retained != kept[0] || res.Control.Retained != kept[1] {
		t.Fatalf("uplift %+v / %+v; brute force n %v retained %v", res.Contacted, res.Control, n, kept)
	}
	if n[1] < n[0]/8 || res.Days != 92 {
		t.Errorf("control %d of %d contacted (share 0.2), %d days", n[1], n[0], res.Days)
	}
	if res.RetentionCI[0] > 0 || res.RetentionCI[1] < 0 || res.SpendCI[0] > 0 || res.SpendCI[1] < 0 {
		t.Errorf("no campaign ran, yet the intervals exclude 0: retention %v %v, spend %v %v", res.RetentionUplift, res.RetentionCI, res.SpendUplift, res.SpendCI)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, "uplift.json"))
	var back UpliftResult
	if err != nil || json.Unmarshal(b, &back) != nil || back.Contacted != res.Contacted || back.RetentionCI != res.RetentionCI {
		t.Errorf("uplift.json: %v %s", err, b)
	}
	if _, err := Uplift(context.Background(), cfg, list, list); err == nil {
		t.Error("as-of not after the list: want an error")
	}
	// A later list compares itself with the September one: movers.csv and the report.
	sc, err := Score(context.Background(), cfg, asOf)
	if err != nil {
		t.Fatal(err)
	}
	movers, err := os.ReadFile(filepath.Join(sc.Dir, MoversCSV))
	if err != nil || strings.Count(string(movers), "\n") < 100 || !strings.Contains(string(movers), "\nentered_high,") {
		t.Fatalf("movers.csv: %v, %d lines", err, strings.Count(string(movers), "\n"))
	}
	html, _ := os.ReadFile(sc.Report)
	if !strings.Contains(string(html), "Movers since 2025-09-30") || !strings.Contains(string(html), "New at high risk") {
		t.Error("report lacks the movers section")
	}
}

// Moves by hand: a enters high, b goes low → medium, c (medium) ordered
// since, d drops to low, e is new, f does not move.
func TestFindMovers(t *testing.T) {
	prev := []datasets.ListEntry{
		{Rank: 1, CustomerID: "a", RiskTier: "medium", LastOrderDate: "2025-10-01"},
		{Rank: 2, CustomerID: "b", RiskTier: "low", LastOrderDate: "2025-10-01"},
		{Rank: 3, CustomerID: "c", RiskTier: "medium", LastOrderDate: "2025-09-01"},
		{Rank: 4, CustomerID: "d", RiskTier: "high", LastOrderDate: "2025-08-01"},
		{Rank: 5, CustomerID: "f", RiskTier: "low", LastOrderDate: "2025-10-05"},
	}
	now := []datasets.ScoreRow{
		{Rank: 1, CustomerID: "a", RiskTier: "high", LastOrderDate: "2025-10-01"},
		{Rank: 2, CustomerID: "e", RiskTier: "low", LastOrderDate: "2025-11-20"},
		{Rank: 3, CustomerID: "b", RiskTier: "medium", LastOrderDate: "2025-10-01"},
		{Rank: 4, CustomerID: "c", RiskTier: "low", LastOrderDate: "2025-11-02"},
		{Rank: 5, CustomerID: "d", RiskTier: "low", LastOrderDate: "2025-08-01"},
		{Rank: 6, CustomerID: "f", RiskTier: "low", LastOrderDate: "2025-11-01"},
	}
	l := mustList(t, now)
	ms, err := findMovers(func(fn func([]datasets.ListEntry) error) error { // two batches
		if err := fn(prev[:2]); err != nil {
			return err
		}
		return fn(prev[2:])
	}, l)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Move+":"+l.rows[m.Now].id)
	}
	if want := "entered_high:a risk_up:b came_back:c risk_down:d new:e"; strings.Join(got, " ") != want {
		t.Errorf("moves %q, want %q", strings.Join(got, " "), want)
	}
	csvText := string(moversCSV(l, ms))
	if !strings.HasPrefix(csvText, "move,customer_id,rank,previous_rank,") || !strings.Contains(csvText, "\nentered_high,a,1,1,high,medium,") || !strings.Contains(csvText, "\nnew,e,2,,low,,") {
		t.Errorf("movers.csv:\n%s", csvText)
	}
	s := summariseMovers("2025-10-31", l, ms)
	if s.Counts[MoveEnteredHigh] != 1 || s.Counts[MoveNew] != 1 || len(s.TopEntered) != 1 || s.TopEntered[0].Now.CustomerID != "a" || s.TopEntered[0].Now.Rank != 1 {
		t.Errorf("summary %+v", s)
	}
}

// The trained CLV artifact carries a tracking plot whose actual curve ends
// at the cohort's repeat purchase days through the validation horizon, and
// whose expected curve is close to it; the report draws it.
func TestCLVTrackingInTrain(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)
	var art CLVArtifact
	if _, err := loadChampion(work, KindCLV, &art); err != nil {
		t.Fatal(err)
	}
	n := len(art.Tracking)
	if n < 100 || art.TrackingCalibrationWeeks < 50 || art.TrackingCalibrationWeeks >= n {
		t.Fatalf("tracking: %d weeks, calibration %d", n, art.TrackingCalibrationWeeks)
	}
	last := art.Tracking[n-1]
	for k := 1; k < n; k++ {
		if art.Tracking[k].Actual < art.Tracking[k-1].Actual || art.Tracking[k].Predicted < art.Tracking[k-1].Predicted-1e-9 {
			t.Fatalf("week %d: cumulative curves fall", k+1)
		}
	}
	if rel := math.Abs(last.Predicted-last.Actual) / last.Actual; last.Actual < 1000 || rel > 0.2 {
		t.Errorf("end of tracking: actual %v, predicted %v (%.0f%% off)", last.Actual, last.Predicted, 100*rel)
	}
	html, _ := os.ReadFile(res.Score.Report)
	if !strings.Contains(string(html), "Cumulative repeat transactions") {
		t.Error("report lacks the tracking plot")
	}
}
