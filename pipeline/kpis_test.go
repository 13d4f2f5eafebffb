package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// The KPI book of a synthetic shop agrees with a brute-force count over the
// warehouse rows (cancellation window off, so every purchase line counts),
// its identities hold, its files round-trip, and the report shows it.
func TestKPIsAgainstBruteForce(t *testing.T) {
	work := t.TempDir()
	cfg := Config{Workdir: work, Buckets: 4, CancelWindow: -1}
	if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"),
		Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC) // mid-month: November is to date
	res, err := KPIs(context.Background(), cfg, day)
	if err != nil {
		t.Fatal(err)
	}
	// Brute force: months with a purchase (amount ≥ 0, by the end of the day) per customer.
	end := day.AddDate(0, 0, 1).UnixMicro()
	active := map[string]map[int]bool{}
	first := map[string]int{}
	for b := range 4 {
		rows, err := datasets.WarehouseBucketRows(work, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.TS >= end || r.AmountCents < 0 || datasets.IsNonProduct(r.LineKind) {
				continue
			}
			m := features.MonthIndex(time.UnixMicro(r.TS))
			if active[r.CustomerID] == nil {
				active[r.CustomerID] = map[int]bool{}
				first[r.CustomerID] = m
			}
			active[r.CustomerID][m] = true
			first[r.CustomerID] = min(first[r.CustomerID], m)
		}
	}
	type want struct{ customers, active, new, retained, reactivated, churned int64 }
	brute := map[string]*want{}
	for id, ms := range active {
		for m := first[id]; m <= features.MonthIndex(day); m++ {
			key := features.MonthStart(m).Format("2006-01")
			w := brute[key]
			if w == nil {
				w = &want{}
				brute[key] = w
			}
			w.customers++
			switch {
			case ms[m] && m == first[id]:
				w.active++
				w.new++
			case ms[m] && ms[m-1]:
				w.active++
				w.retained++
			case ms[m]:
				w.active++
				w.reactivated++
			case ms[m-1]:
				w.churned++
			}
		}
	}
	checked := 0
	for _, r := range res.Rows {
		// Identities of every row.
		if r.ActiveCustomers != r.NewCustomers+r.Retained+r.Reactivated || r.PreviousActive != r.Retained+r.Churned {
			t.Fatalf("%s %s: identities fail: %+v", r.Month, r.Segment, r)
		}
		if r.PreviousActive > 0 && math.Abs(r.RetentionRate+r.ChurnRate-1) > 2e-4 {
			t.Fatalf("%s %s: retention %v + churn %v ≠ 1", r.Month, r.Segment, r.RetentionRate, r.ChurnRate)
		}
		if r.Segment != "all" {
			continue
		}
		w := brute[r.Month]
		got := want{r.Customers, r.ActiveCustomers, r.NewCustomers, r.Retained, r.Reactivated, r.Churned}
		if w == nil || got != *w {
			t.Fatalf("%s: %+v, brute force %+v", r.Month, got, w)
		}
		if r.PreviousActive > 0 && math.Abs(r.RetentionRate-float64(w.retained)/float64(w.retained+w.churned)) > 5e-5 {
			t.Fatalf("%s: retention rate %v", r.Month, r.RetentionRate)
		}
		checked++
		if (r.Month == "2025-11") == r.Complete {
			t.Errorf("%s: complete = %v", r.Month, r.Complete)
		}
	}
	if checked != len(brute) || checked < 30 {
		t.Fatalf("checked %d months of %d", checked, len(brute))
	}
	// Segments split "all" exactly.
	sum := map[string]int64{}
	for _, r := range res.Rows {
		if r.Segment != "all" {
			sum[r.Month] += r.Customers
		}
	}
	for _, r := range res.Rows {
		if r.Segment == "all" && sum[r.Month] != r.Customers {
			t.Fatalf("%s: tiers hold %d customers, all %d", r.Month, sum[r.Month], r.Customers)
		}
	}
	// Files: the CSV and Parquet hold the same rows as the result.
	raw, err := os.ReadFile(filepath.Join(res.Dir, datasets.KPIsCSV))
	if err != nil {
		t.Fatal(err)
	}
	back, err := datasets.ReadKPIsCSV("kpis.csv", bytes.NewReader(raw))
	if err != nil || len(back) != len(res.Rows) {
		t.Fatalf("kpis.csv: %d rows, %v", len(back), err)
	}
	pq, err := datasets.ReadKPIsParquet(filepath.Join(res.Dir, datasets.KPIsParquet))
	if err != nil || len(pq) != len(res.Rows) {
		t.Fatalf("kpis.parquet: %d rows, %v", len(pq), err)
	}
	for i := range back {
		if !sameKPI(back[i], res.Rows[i]) || !sameKPI(pq[i], res.Rows[i]) {
			t.Fatalf("row %d: csv %+v\nparquet %+v\nresult %+v", i, back[i], pq[i], res.Rows[i])
		}
	}
	cohorts, _ := os.ReadFile(filepath.Join(res.Dir, datasets.CohortsCSV))
	if !strings.HasPrefix(string(cohorts), "cohort,customers,mean_predicted_clv,month_0,") {
		t.Errorf("cohorts.csv starts %q", string(cohorts)[:60])
	}
	// Cohort sizes are the new customers of their month.
	for _, c := range res.Cohorts {
		if w := brute[c.Cohort]; w != nil && c.Customers != w.new || c.Customers > 0 && c.Active[0] != c.Customers {
			t.Fatalf("cohort %s: %d customers, %v", c.Cohort, c.Customers, c.Active[:1])
		}
	}
}

func sameKPI(a, b datasets.KPIRow) bool {
	return strings.ReplaceAll(strings.ReplaceAll(fmtRow(a), "NaN", "x"), " ", "") == strings.ReplaceAll(strings.ReplaceAll(fmtRow(b), "NaN", "x"), " ", "")
}

func fmtRow(r datasets.KPIRow) string {
	var b bytes.Buffer
	_ = datasets.WriteKPIsCSV(&b, []datasets.KPIRow{r})
	return b.String()
}

// An export with unit prices: ingest keeps them, the feature stage finds
// the February increase of X and a's response to it (see features'
// TestPriceIncreaseResponse for the arithmetic).
func TestPriceIncreaseEndToEnd(t *testing.T) {
	work := t.TempDir()
	lines := []string{
		"a,A0,2023-12-20,Z,2,10.00", "a,A1,2024-01-15,X,1,10.00", "a,A2,2024-03-10,Z,1,10.00",
		"o1,1,2024-01-02,X,1,10.00", "o1,2,2024-02-02,X,1,11.00", "o2,1,2024-01-03,X,1,10.00",
		"o2,2,2024-02-03,X,1,11.00", "o3,1,2024-02-04,X,1,11.00", "o3,2,2024-06-30,Z,1,1.00",
	}
	path := filepath.Join(t.TempDir(), "orders.csv")
	if err := os.WriteFile(path, []byte("customer_id,order_id,ts,product_id,quantity,unit_price\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Workdir: work, Buckets: 2}
	ing, err := Ingest(context.Background(), cfg, IngestInput{Transactions: path, Now: asOf})
	if err != nil || ing.Loaded != int64(len(lines)) {
		t.Fatalf("ingest: %+v, %v", ing, err)
	}
	info, err := datasets.OpenWarehouse(work)
	if err != nil || info.PricedRows != int64(len(lines)) {
		t.Fatalf("priced rows %d, %v", info.PricedRows, err)
	}
	fr, err := Features(context.Background(), cfg, time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := readSnapshot(context.Background(), fr.Dir, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	ids, _ := features.Strings(rec, features.CustomerID)
	seen, _ := features.Float64s(rec, features.PriceIncreasesSeen)
	resp, _ := features.Float64s(rec, features.PriceIncreaseResp)
	found := false
	for i, id := range ids {
		if id == "a" {
			found = true
			if seen[i] != 1 || math.Abs(resp[i]+0.5) > 1e-12 {
				t.Errorf("a: seen %v, response %v; want 1 and −0.5", seen[i], resp[i])
			}
		}
	}
	if !found {
		t.Error("a is not in the snapshot")
	}
}

// A snapshot built with a book cache (Run, Score) fills the KPI book of
// its cutoff on the way, equal to the one a pass of its own computes, and
// the list takes it from there; labelled snapshots fill none.
func TestSnapshotFillsKPIBook(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	cfg := Config{Workdir: work, Buckets: 4}
	if _, err := Ingest(ctx, cfg, IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"),
		Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	wv, _, err := warehouseVersion(work)
	if err != nil {
		t.Fatal(err)
	}
	old := asOf.AddDate(0, -6, 0) // labelled: the data cover its horizon
	cached := cfg
	cached.books = &bookCache{}
	res, err := snapshots(ctx, cached, []time.Time{old, asOf}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Labelled || res[1].Labelled {
		t.Fatalf("labelled: %v, %v", res[0].Labelled, res[1].Labelled)
	}
	if b := cached.books.take(kpiKey(cfg, wv, old)); b != nil {
		t.Fatal("a labelled snapshot filled a KPI book")
	}
	got, err := computeKPIs(ctx, cached, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if again := cached.books.take(kpiKey(cfg, wv, asOf)); again != nil {
		t.Fatal("the book stayed in the cache after the list took it")
	}
	want, err := computeKPIs(ctx, cfg, asOf) // its own pass over the warehouse
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("book from the snapshot pass differs from its own pass:\n%s\n%s", gj, wj)
	}
	customers := int64(0)
	for _, n := range want.CohortSize {
		customers += n
	}
	if len(kpiRows(want, asOf)) < 12 || customers < 100 {
		t.Fatalf("implausible book: %d rows, %d customers in the cohorts", len(kpiRows(want, asOf)), customers)
	}
	// Another tier window is another book: the key tells them apart.
	other := cfg
	other.TierWindow = cfg.TierWindow + 1
	if kpiKey(other, wv, asOf) == kpiKey(cfg, wv, asOf) {
		t.Fatal("the key ignores the tier window")
	}
}
