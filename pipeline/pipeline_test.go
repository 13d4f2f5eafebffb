package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/internal/offheap"
	"github.com/churn-dev/churn/internal/testutil"
	"github.com/churn-dev/churn/models"
)

var asOf = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// shop generates one small synthetic shop shared by the tests of this package.
var shop = sync.OnceValues(func() (string, error) { return generateShop(4000, 3) })

func shopDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dir, err := shop()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func runChain(t *testing.T, workdir string) RunResult {
	t.Helper()
	res, err := Run(context.Background(), Config{Workdir: workdir, Buckets: 4},
		asOf, IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunEndToEnd(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)

	if res.Ingest == nil || res.Ingest.Customers != 4000 || res.Ingest.LastDay != "2025-12-31" {
		t.Fatalf("ingest = %+v", res.Ingest)
	}
	f, err := os.Open(res.Score.ListCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := os.ReadFile(res.Score.ListCSV)
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], datasets.ScoreColumns) {
		t.Fatalf("header = %v, want %v", recs[0], datasets.ScoreColumns)
	}
	rows, err := datasets.ReadScoresCSV("list", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4000 {
		t.Fatalf("list has %d customers, want all 4000", len(rows))
	}
	segments := map[string]bool{}
	for r := int8(1); r <= 5; r++ {
		for fs := int8(1); fs <= 5; fs++ {
			segments[features.Segment(r, fs)] = true
		}
	}
	seen := map[string]bool{}
	cfg := Config{}.WithDefaults()
	for i, r := range rows {
		if r.Rank != int64(i+1) {
			t.Fatalf("row %d has rank %d", i, r.Rank)
		}
		if i > 0 && r.ValueAtRisk > rows[i-1].ValueAtRisk {
			t.Fatalf("row %d: value at risk %v above row %d's %v", i, r.ValueAtRisk, i-1, rows[i-1].ValueAtRisk)
		}
		if seen[r.CustomerID] {
			t.Fatalf("customer %s listed twice", r.CustomerID)
		}
		seen[r.CustomerID] = true
		if r.ChurnProbability < 0 || r.ChurnProbability > 1 || r.PAlive < 0 || r.PAlive > 1 || r.PredictedCLV < 0 || r.ExpectedOrders < 0 {
			t.Fatalf("row %d out of range: %+v", i, r)
		}
		if d := r.ValueAtRisk - r.ChurnProbability*r.PredictedCLV; d > 0.01+r.PredictedCLV*1e-4 || d < -0.01-r.PredictedCLV*1e-4 {
			t.Fatalf("row %d: value at risk %v ≠ %v × %v", i, r.ValueAtRisk, r.ChurnProbability, r.PredictedCLV)
		}
		if tier := riskTier(cfg, r.ChurnProbability); tier != r.RiskTier && r.ChurnProbability != cfg.RiskHigh && r.ChurnProbability != cfg.RiskMedium {
			t.Fatalf("row %d: tier %s for p=%v", i, r.RiskTier, r.ChurnProbability)
		}
		if !slices.Contains([]string{"none", "bronze", "silver", "gold", "platinum"}, r.LoyaltyTier) ||
			!slices.Contains([]string{"", "promoter", "passive", "detractor"}, r.SatisfactionClass) {
			t.Fatalf("row %d: tier %q, satisfaction %q", i, r.LoyaltyTier, r.SatisfactionClass)
		}
		if !segments[r.Segment] || r.SuggestedAction == "" || r.ScoredAt != "2025-12-31" || r.LastOrderDate > "2025-12-31" || r.ModelVersion == "" {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	// Parquet and export agree with the CSV.
	pq, err := datasets.ReadScoresParquet(filepath.Join(res.Score.Dir, datasets.ScoresParquet))
	if err != nil || len(pq) != len(rows) || pq[0] != rows[0] || pq[len(pq)-1] != rows[len(rows)-1] {
		t.Fatalf("scores.parquet disagrees with the CSV (%v)", err)
	}
	var exp bytes.Buffer
	if res, err := Export(context.Background(), Config{Workdir: work}, asOf, ExportOptions{Format: "csv", W: &exp}); err != nil || res.Rows != 4000 || !bytes.Equal(exp.Bytes(), raw) {
		t.Fatalf("export: %+v err=%v, same bytes=%v", res, err, bytes.Equal(exp.Bytes(), raw))
	}
	html, _ := os.ReadFile(res.Score.Report)
	for _, want := range []string{"Retention list — as of 2025-12-31", "Risk tiers", "<svg", rows[0].CustomerID, "ROC AUC",
		"Loyalty KPIs — 2025-12", "Monthly retention and churn rate", "Cohort retention", "By loyalty tier", "Segments × loyalty tiers"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The list folder carries the KPI book, with the mean predicted CLV of each cohort.
	cohorts, err := os.ReadFile(filepath.Join(res.Score.Dir, datasets.CohortsCSV))
	if err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(bytes.NewReader(cohorts)).ReadAll()
	if err != nil || len(recs) < 30 {
		t.Fatalf("cohorts.csv: %d rows, %v", len(recs), err)
	}
	for _, r := range recs[1:] {
		if r[1] != "0" && r[2] == "" {
			t.Fatalf("cohort %s of %s customers has no mean CLV", r[0], r[1])
		}
	}
	// Out-of-time quality on this shop: the 100k-customer demo measures 0.85;
	// a 4000-customer shop must still clear 0.75.
	if auc := res.Train.Validation.AUC; auc < 0.75 {
		t.Errorf("out-of-time ROC AUC = %.3f, want ≥ 0.75", auc)
	}
}

// P(alive) must separate customers who are truly alive at the end of the
// simulation from those who dropped out, one-time buyers included: the shop
// follows a Pareto/NBD-like process, so train must not pick BG/NBD, which
// gives every one-time buyer P(alive) = 1 (Fader, Hardie & Lee 2005).
func TestScoresAgainstTruth(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)
	rows, err := datasets.ReadScoresParquet(filepath.Join(res.Score.Dir, datasets.ScoresParquet))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := os.ReadFile(filepath.Join(shopDir(t), "truth.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(bytes.NewReader(truth)).ReadAll()
	alive := map[string]float64{}
	for _, r := range recs[1:] {
		if r[5] == "true" {
			alive[r[0]] = 1
		}
	}
	var pa, retain, y []float64
	certain := 0
	for _, r := range rows {
		pa = append(pa, r.PAlive)
		retain = append(retain, 1-r.ChurnProbability)
		y = append(y, alive[r.CustomerID])
		if r.PAlive == 1 {
			certain++
		}
	}
	var art CLVArtifact
	if _, err := loadChampion(work, KindCLV, &art); err != nil {
		t.Fatal(err)
	}
	list, err := datasets.ReadManifest(res.Score.Dir)
	if err != nil || list.Meta["purchase_model"] != art.PurchaseModel {
		t.Errorf("list manifest records purchase model %q, want %q (%v)", list.Meta["purchase_model"], art.PurchaseModel, err)
	}
	if art.PurchaseModel == "bgnbd" || len(art.Candidates) != 3 {
		t.Errorf("purchase model %s chosen from %d candidates; want MBG/NBD or Pareto/NBD from 3", art.PurchaseModel, len(art.Candidates))
	}
	// Customers who bought in the last days round to P(alive) = 1.0000; under
	// BG/NBD every one-time buyer would (over a quarter of this shop).
	if certain > len(rows)/20 {
		t.Errorf("%d of %d customers have P(alive) = 1", certain, len(rows))
	}
	// Measured on this seed: 0.92 and 0.88.
	if auc := models.Evaluate(pa, y).AUC; auc < 0.85 {
		t.Errorf("P(alive) vs true alive: ROC AUC %.3f, want ≥ 0.85", auc)
	}
	if auc := models.Evaluate(retain, y).AUC; auc < 0.8 {
		t.Errorf("1 − churn probability vs true alive: ROC AUC %.3f, want ≥ 0.8", auc)
	}
}

// The same inputs and config give byte-identical outputs.
func TestRerunByteIdentical(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ra := runChain(t, a)
	// The second run maps every design matrix and logit copy off the heap,
	// as a large shop's are (internal/offheap): the same bytes, and nothing
	// used after it is unmapped.
	restore := offheap.SetMinBytes(1)
	rb := runChain(t, b)
	restore()
	for _, name := range []string{datasets.RetentionListCSV, datasets.ScoresParquet, datasets.ReportHTML, datasets.ManifestName} {
		x, err1 := os.ReadFile(filepath.Join(ra.Score.Dir, name))
		y, err2 := os.ReadFile(filepath.Join(rb.Score.Dir, name))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between identical runs (%v, %v)", name, err1, err2)
		}
	}
	// A second run in the same workdir reuses snapshots and republishes the same list.
	before, _ := os.ReadFile(ra.Score.ListCSV)
	again := runChain(t, a)
	after, _ := os.ReadFile(again.Score.ListCSV)
	if !bytes.Equal(before, after) {
		t.Error("rerun in the same workdir changed the list")
	}
}

func TestBadInputKeepsWarehouse(t *testing.T) {
	work := t.TempDir()
	good := filepath.Join(t.TempDir(), "good.csv")
	os.WriteFile(good, []byte("customer_id,ts,amount\nc1,2024-01-01,10.00\n"), 0o644)
	cfg := Config{Workdir: work, Buckets: 2}
	if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: good}); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(work, datasets.WarehouseDir, datasets.ManifestName)
	before, _ := os.ReadFile(manifest)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("customer_id,ts,amount\nc1,2024-01-01,10.00\nc2,2024-01-02,ten\n"), 0o644)
	_, err := Ingest(context.Background(), cfg, IngestInput{Transactions: bad})
	var de *datasets.DataError
	if !errors.As(err, &de) || de.Line != 3 || de.Column != 3 || !strings.Contains(err.Error(), "bad.csv:3:3") {
		t.Fatalf("err = %v, want a data error at bad.csv:3:3", err)
	}
	after, _ := os.ReadFile(manifest)
	if !bytes.Equal(before, after) {
		t.Error("a failed ingest changed the warehouse")
	}
	entries, _ := os.ReadDir(filepath.Join(work, "warehouse"))
	if len(entries) != 2 || entries[0].Name() != "_ingests.json" || entries[1].Name() != "transactions" {
		t.Errorf("leftovers in warehouse/: %v", entries)
	}
}

func TestTrainNeedsHistory(t *testing.T) {
	work := t.TempDir()
	in := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(in, []byte("customer_id,ts,amount\nc1,2025-11-01,10.00\nc1,2025-12-01,5.00\nc2,2025-12-20,3.00\n"), 0o644)
	cfg := Config{Workdir: work, Buckets: 2}
	if _, err := Ingest(context.Background(), cfg, IngestInput{Transactions: in}); err != nil {
		t.Fatal(err)
	}
	_, err := Train(context.Background(), cfg, asOf)
	if err == nil || !strings.Contains(err.Error(), "2×horizon") {
		t.Errorf("err = %v, want a clear 'needs 2×horizon of history' error", err)
	}
	if _, err := Score(context.Background(), cfg, asOf); err == nil || !strings.Contains(err.Error(), "run churn train first") {
		t.Errorf("score without models: err = %v", err)
	}
	// A run cannot build the training's snapshots with the one at as-of:
	// it builds that one alone, and the training fails with its message.
	res, err := Run(context.Background(), cfg, asOf, IngestInput{})
	if err == nil || !strings.Contains(err.Error(), "2×horizon") {
		t.Errorf("run: err = %v, want the training's 'needs 2×horizon of history'", err)
	}
	if res.Features.Cutoff != "2025-12-31" || res.Features.Customers != 2 {
		t.Errorf("run's snapshot at as-of: %+v", res.Features)
	}
}

// A day without sales before the as-of date is normal: the chain still runs
// and the training snapshots still get their labels.
func TestQuietAsOfDay(t *testing.T) {
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join(shopDir(t), "transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(string(src)), "\n") {
		if !strings.Contains(line, ",2025-12-31T") && !strings.Contains(line, ",2025-12-30T") {
			kept = append(kept, line)
		}
	}
	in := filepath.Join(t.TempDir(), "tx.csv")
	os.WriteFile(in, []byte(strings.Join(kept, "\n")+"\n"), 0o644)
	res, err := Run(context.Background(), Config{Workdir: work, Buckets: 2}, asOf, IngestInput{Transactions: in, Now: asOf.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ingest.LastDay != "2025-12-29" || res.Score.Customers < 3900 || res.Train.Validation.N == 0 {
		t.Errorf("last day %s, %d scored, validation n %d", res.Ingest.LastDay, res.Score.Customers, res.Train.Validation.N)
	}
	// The head of the list is a copy, not a window on every row.
	if len(res.Score.Top) != 10 || cap(res.Score.Top) > 16 {
		t.Errorf("top rows: len %d, cap %d; want 10 rows of their own", len(res.Score.Top), cap(res.Score.Top))
	}
}

// expected_next_order_date is the model's median time to the next order:
// scored at 2025-09-30 and checked against the last quarter the scorer did
// not see, customers given a date within 90 days must order within 90 days
// at least about half the time (that is what a median promises), and
// customers given no date within the CLV horizon must rarely order.
func TestNextOrderDateHoldout(t *testing.T) {
	work := t.TempDir()
	cut := time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC)
	tx := filepath.Join(shopDir(t), "transactions.csv")
	res, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, cut, IngestInput{Transactions: tx, Now: asOf.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := datasets.ReadScoresParquet(filepath.Join(res.Score.Dir, datasets.ScoresParquet))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(tx)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	ordered := map[string]bool{} // ordered in (cut, cut+90 days]
	for _, r := range recs[1:] {
		if r[2] > "2025-10-01" && r[2] <= "2025-12-29T23:59:59Z" && !strings.HasPrefix(r[3], "-") {
			ordered[r[0]] = true
		}
	}
	within := cut.AddDate(0, 0, 90).Format(time.DateOnly)
	var soon, soonHit, none, noneHit int
	for _, r := range rows {
		switch d := r.ExpectedNextOrderDate; {
		case d == "":
			none++
			if ordered[r.CustomerID] {
				noneHit++
			}
		case d <= "2025-09-30" || d > cut.AddDate(0, 0, 366).Format(time.DateOnly):
			t.Fatalf("%s: next order date %s outside (as-of, as-of + CLV horizon]", r.CustomerID, d)
		case d <= within:
			soon++
			if ordered[r.CustomerID] {
				soonHit++
			}
		}
	}
	if soon < 100 || none < 100 {
		t.Fatalf("%d customers with a next order within 90 days, %d with none: too few to judge", soon, none)
	}
	t.Logf("next order ≤ 90 days: %d customers, %.2f ordered; no date: %d customers, %.2f ordered",
		soon, float64(soonHit)/float64(soon), none, float64(noneHit)/float64(none))
	if f := float64(soonHit) / float64(soon); f < 0.45 {
		t.Errorf("customers expected to order within 90 days: %.2f did, want ≥ 0.45", f)
	}
	if f := float64(noneHit) / float64(none); f > 0.2 {
		t.Errorf("customers with no expected order: %.2f ordered within 90 days, want ≤ 0.2", f)
	}
}

// train compares logistic regression and the GBDT out of time on stacked
// monthly snapshots, keeps the best ROC AUC, calibrates it, and records the
// leaderboard; the champion's calibrated probabilities are well calibrated
// on the validation snapshot.
func TestTrainLeaderboard(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	var art ChurnArtifact
	if _, err := loadChampion(work, KindChurn, &art); err != nil {
		t.Fatal(err)
	}
	if len(art.Leaderboard) != 3 || art.Leaderboard[0].Model != "logit" || art.Leaderboard[1].Model != "gbdt" || art.Leaderboard[2].Model != "btyd" {
		t.Fatalf("leaderboard %+v", art.Leaderboard)
	}
	best := art.Leaderboard[0]
	for _, c := range art.Leaderboard {
		if c.Error != "" || c.Validation.N == 0 || c.Validation.AUC < 0.65 {
			t.Errorf("candidate %+v", c)
		}
		if c.Validation.AUC > best.Validation.AUC+1e-9 {
			best = c
		}
	}
	if art.Kind != best.Model || art.Validation.AUC != best.Validation.AUC {
		t.Errorf("champion %s (AUC %.4f), best candidate %s (AUC %.4f)", art.Kind, art.Validation.AUC, best.Model, best.Validation.AUC)
	}
	if art.Calibration == nil || best.CalibrationError > 0.05 {
		t.Errorf("calibration %+v, ECE %.4f", art.Calibration, best.CalibrationError)
	}
	if len(art.TrainCutoffs) < 2 || art.TrainCutoffs[0] != art.TrainCutoff || art.TrainExamples <= art.Validation.N {
		t.Errorf("stacked training snapshots %v, %d final rows", art.TrainCutoffs, art.TrainExamples)
	}
	var clv CLVArtifact
	if _, err := loadChampion(work, KindCLV, &clv); err != nil {
		t.Fatal(err)
	}
	for _, c := range art.Leaderboard {
		t.Logf("%-6s ROC AUC %.4f  PR AUC %.4f  ECE %.4f", c.Model, c.Validation.AUC, c.Validation.PRAUC, c.CalibrationError)
	}
	// The BTYD baseline (the true process of this shop) may win; then the
	// best learnt model gives the reasons.
	if art.Kind == "btyd" && (art.ExplainedBy == "" || (art.GBDT == nil && art.Logit == nil)) {
		t.Errorf("btyd champion without an explainer: %q", art.ExplainedBy)
	}
	rows, err := datasets.ReadScoresParquet(filepath.Join(work, datasets.ListsDir, "as-of=2025-12-31", datasets.ScoresParquet))
	if err != nil {
		t.Fatal(err)
	}
	withReasons, high := 0, 0
	for _, r := range rows {
		if r.RiskTier == "high" {
			high++
			if r.Reasons != "" {
				withReasons++
			}
		}
	}
	if high == 0 || withReasons < high*9/10 {
		t.Errorf("%d of %d high-risk customers have reasons", withReasons, high)
	}
	if _, err := art.Classifier(&clv); err != nil || len(art.Means) != len(features.ModelColumns) {
		t.Errorf("classifier: %v; %d means", err, len(art.Means))
	}
}

// The BTYD baseline's explanation: Shapley values of its three inputs that
// add up to its log-odds minus the log-odds at the training means.
func TestBTYDChurnExplain(t *testing.T) {
	p := len(features.ModelColumns)
	means := make([]float64, p)
	b := newBTYDChurn(models.BGNBD{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4}, 90)
	means[b.ix], means[b.irec], means[b.itenure] = 2, 60, 300
	b.means = means
	x := slices.Clone(means)
	x[b.ix], x[b.irec], x[b.itenure] = 5, 200, 400
	dst := make([]float64, p)
	base := b.Explain(dst, x)
	sum := base
	for _, v := range dst {
		sum += v
	}
	q := b.Predict(x)
	if d := sum - math.Log(q/(1-q)); math.Abs(d) > 1e-9 {
		t.Errorf("base + Σ contributions − logit P = %g", d)
	}
	// A long silence raises the risk: recency's contribution is positive.
	if dst[b.irec] <= 0 {
		t.Errorf("recency contribution %g, want > 0", dst[b.irec])
	}
	for j, v := range dst {
		if j != b.ix && j != b.irec && j != b.itenure && v != 0 {
			t.Errorf("feature %s got %g; only the BTYD inputs explain", features.ModelColumns[j], v)
		}
	}
}

// Champion/challenger: the first model is promoted; a retrain on the same
// data is compared with the champion on the same validation rows; a
// challenger that must beat the champion by a large margin is kept out, and
// scoring still uses the champion; promote makes it champion by hand; a
// model of another feature schema cannot be promoted.
func TestChampionChallenger(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)
	if !res.Train.Promotion.Promoted || res.Train.Promotion.Reason != "no champion yet" {
		t.Fatalf("first training run: %+v", res.Train.Promotion)
	}
	first := res.Train.ChurnVersion
	cfg := Config{Workdir: work, Buckets: 4, PromoteMargin: 0.05, Lambda: 0.01}
	tr, err := Train(context.Background(), cfg, asOf)
	if err != nil {
		t.Fatal(err)
	}
	pr := tr.Promotion
	if pr.Promoted || pr.ChampionVersion != first || pr.ChampionAUC < 0.7 || !strings.Contains(pr.Reason, "kept the champion") {
		t.Fatalf("challenger with margin 0.05: %+v", pr)
	}
	var champ ChurnArtifact
	if v, _ := loadChampion(work, KindChurn, &champ); v != first {
		t.Errorf("champion %s, want %s kept", v, first)
	}
	list, err := ListModels(work, KindChurn)
	if err != nil || len(list) != 2 {
		t.Fatalf("models list %+v, %v", list, err)
	}
	for _, m := range list {
		if m.Champion != (m.Version == first) || m.AUC == 0 || m.Promotion == "" {
			t.Errorf("listed %+v", m)
		}
	}
	if err := PromoteModel(work, KindChurn, tr.ChurnVersion); err != nil {
		t.Fatal(err)
	}
	if v, _ := loadChampion(work, KindChurn, &champ); v != tr.ChurnVersion {
		t.Errorf("after promote: champion %s, want %s", v, tr.ChurnVersion)
	}
	// A model of another schema: scoring and promotion refuse it.
	b, _ := ShowModel(work, KindChurn, first)
	other := strings.Replace(string(b), champ.SchemaHash, "0123456789abcdef", 1)
	dir := filepath.Join(work, datasets.ModelsDir, KindChurn, first)
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PromoteModel(work, KindChurn, first); err == nil || !strings.Contains(err.Error(), "feature schema") {
		t.Errorf("promoting a model of another schema: %v", err)
	}
	os.WriteFile(filepath.Join(work, datasets.ModelsDir, KindChurn, datasets.ChampionFile), []byte(first+"\n"), 0o644)
	if _, err := Score(context.Background(), Config{Workdir: work, Buckets: 4}, asOf); err == nil || !strings.Contains(err.Error(), "retrain") {
		t.Errorf("scoring a model of another schema: %v", err)
	}
}

func TestChurnModelsConfig(t *testing.T) {
	cfg := Config{Workdir: "w"}.WithDefaults()
	if !slices.Equal(cfg.ChurnModels, []string{"logit", "gbdt", "btyd"}) || cfg.Validate() != nil {
		t.Errorf("default churn models %v", cfg.ChurnModels)
	}
	cfg.ChurnModels = []string{"logit", "xgboost"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "xgboost") {
		t.Errorf("unknown churn model: %v", err)
	}
}

// Reasons and actions in English, Chinese or both, with the issue's
// example phrasing for a lapsed customer.
func TestReasonsLanguages(t *testing.T) {
	names := []string{features.RecencyDays, features.GapMeanDays, features.Orders90d}
	x, contrib, means, dirs := []float64{90, 21, 0}, []float64{1.2, -0.1, 0.3}, []float64{30, 30, 2}, []float64{1, 1, -1}
	for lang, want := range map[string]string{
		LangEN:   "90 days since the last order, usual gap 21 days; 0 orders in the last 90 days",
		LangZH:   "距上次购买已90天，通常间隔21天；近90天0笔订单",
		LangBoth: "距上次购买已90天，通常间隔21天；近90天0笔订单 | 90 days since the last order, usual gap 21 days; 0 orders in the last 90 days",
	} {
		if got := reasons(lang, names, x, contrib, means, dirs); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	rows := []datasets.ScoreRow{{RiskTier: "high", PredictedCLV: 100, Segment: "At risk"}, {RiskTier: "low", Segment: "New"}}
	none := actionInput{daysSinceComplaint: math.NaN(), discount: math.NaN(), overdue: math.NaN()}
	l := mustList(t, rows)
	if err := assignActions(l, []actionInput{none, none}, defaultRules(features.DefaultTiers), LangZH, 1); err != nil {
		t.Fatal(err)
	}
	rows = l.scoreRows(0, len(rows))
	if rows[0].SuggestedAction != "VIP关怀：客户经理致电或手写致谢" || rows[1].SuggestedAction != "新客培育：第二单激励" {
		t.Errorf("actions in Chinese: %q, %q", rows[0].SuggestedAction, rows[1].SuggestedAction)
	}
	if err := (Config{Workdir: "w", Lang: "fr"}).WithDefaults().Validate(); err == nil {
		t.Error("lang fr: want an error")
	}
}

// churn features --describe: a row per numeric column, with consistent
// order statistics and the nulls counted.
func TestDescribeFeatures(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	sums, err := DescribeFeatures(context.Background(), work, asOf)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]FeatureSummary{}
	for _, s := range sums {
		byName[s.Name] = s
		if s.Count > s.Nulls && !(s.Min <= s.P25 && s.P25 <= s.P50 && s.P50 <= s.P75 && s.P75 <= s.P95 && s.P95 <= s.Max && s.Min <= s.Mean && s.Mean <= s.Max) {
			t.Errorf("%s: inconsistent summary %+v", s.Name, s)
		}
	}
	r, ok := byName[features.RecencyDays]
	if !ok || r.Count != 4000 || r.Nulls != 0 || r.Min < 0 {
		t.Errorf("recency summary %+v", r)
	}
	if g := byName[features.GapMeanDays]; g.Nulls == 0 || g.Nulls == g.Count {
		t.Errorf("gap_mean_days is null for one-time buyers only: %+v", g)
	}
	if _, ok := byName[features.FirstOrderDate]; ok {
		t.Error("dates are not summarised")
	}
	if _, err := DescribeFeatures(context.Background(), work, asOf.AddDate(0, 0, -1)); err == nil || !strings.Contains(err.Error(), "run churn features") {
		t.Errorf("missing snapshot: %v", err)
	}

	// The CSV export holds every column of the snapshot, value for value.
	path := filepath.Join(t.TempDir(), "snapshot.csv")
	n, err := ExportSnapshot(context.Background(), work, asOf, path)
	if err != nil || n != 4000 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	recs := testutil.ReadCSV(t, path)
	if len(recs) != n+1 {
		t.Fatalf("read back %d records, want %d", len(recs), n+1)
	}
	snap, err := readSnapshot(context.Background(), datasets.SnapshotDir(work, dateString(asOf)), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	if len(recs[0]) != int(snap.NumCols()) {
		t.Fatalf("%d columns exported, snapshot has %d", len(recs[0]), snap.NumCols())
	}
	for j, name := range recs[0] {
		if name != snap.ColumnName(j) {
			t.Fatalf("column %d is %s, want %s", j, name, snap.ColumnName(j))
		}
		nums, err := features.Float64s(snap, name)
		if snap.Column(j).DataType().ID() == arrow.DATE32 {
			for i := range n {
				if want := time.Unix(int64(nums[i])*86400, 0).UTC().Format(time.DateOnly); recs[i+1][j] != want {
					t.Fatalf("%s[%d] = %q, want %q", name, i, recs[i+1][j], want)
				}
			}
			continue
		}
		if err != nil { // text
			strs, _ := features.Strings(snap, name)
			for i := range n {
				if recs[i+1][j] != strs[i] {
					t.Fatalf("%s[%d] = %q, want %q", name, i, recs[i+1][j], strs[i])
				}
			}
			continue
		}
		for i := range n {
			got, want := recs[i+1][j], nums[i]
			v, perr := strconv.ParseFloat(got, 64)
			if math.IsNaN(want) && got != "" || !math.IsNaN(want) && (perr != nil || v != want) {
				t.Fatalf("%s[%d] = %q, want %v", name, i, got, want)
			}
		}
	}
}

// Every model feature can be a reason, phrased in both languages, except
// habits that say nothing about leaving on their own.
func TestEveryModelFeatureHasAReason(t *testing.T) {
	silent := map[string]bool{features.WeekendShare: true, features.EveningShare: true, features.MainChannelShare: true, features.BasketLines: true}
	for _, name := range features.ModelColumns {
		p := reasonText[name]
		if p == nil {
			if !silent[name] {
				t.Errorf("%s has no reason text", name)
			}
			continue
		}
		en, zh := p(3, 10, wantEN|wantZH)
		if en == "" || zh == "" || strings.Contains(en+zh, "%!") {
			t.Errorf("%s: reason %q / %q", name, en, zh)
		}
		// One language asked: the same text; the other is not formatted
		// (empty) or a constant.
		for _, lang := range []string{LangEN, LangZH, LangBoth} {
			e, z := p(3, 10, wantsOf(lang))
			if got, want := inLang(lang, e, z), inLang(lang, en, zh); got != want || (e != "" && e != en) || (z != "" && z != zh) {
				t.Errorf("%s in %s: %q / %q, want %q", name, lang, e, z, want)
			}
		}
	}
	if e, z := reasonText[features.RecencyDays](30, 10, wantZH); e != "" || z == "" {
		t.Errorf("recency in Chinese only: %q / %q", e, z)
	}
}

// Every section of the report has a title and data: a chart, a filled
// table or text; no chart failed to draw.
func TestReportSectionsHaveData(t *testing.T) {
	work := t.TempDir()
	res := runChain(t, work)
	b, err := os.ReadFile(res.Score.Report)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(html, "chart unavailable") || !strings.HasSuffix(strings.TrimSpace(html), "</html>") {
		t.Fatal("a chart failed or the page is cut short")
	}
	sections := strings.Split(html, "<section>")[1:]
	if len(sections) < 16 {
		t.Fatalf("%d sections", len(sections))
	}
	var titles []string
	for _, s := range sections {
		s = s[:strings.Index(s, "</section>")]
		i, j := strings.Index(s, "<h2"), strings.Index(s, "</h2>")
		if i < 0 || j < i {
			t.Fatalf("section without a title: %.200s", s)
		}
		title := s[strings.Index(s[i:], ">")+i+1 : j]
		titles = append(titles, title)
		if !strings.Contains(s, "<svg") && !strings.Contains(s, "<td") && !strings.Contains(s, "<p>") {
			t.Errorf("section %q has no chart, table row or text", title)
		}
		if strings.Contains(s, "<table") && strings.Count(s, "<tr>") < 2 {
			t.Errorf("section %q has an empty table", title)
		}
	}
	for _, want := range []string{"Risk tiers", "Distribution", "Segments (RFM)", "Loyalty KPIs", "Movers", "Campaign sizing", "RFM heatmap",
		"Top reasons among customers at risk", "CLV deciles", "Segments × loyalty tiers", "Top of the list", "Gains", "Calibration", "Data quality"} {
		found := false
		for _, title := range titles {
			found = found || strings.HasPrefix(title, want)
		}
		if !found {
			t.Errorf("no section %q in %q", want, titles)
		}
	}
	// In Chinese: the fixed texts are translated. Score lowers the
	// collector's percent while it runs and puts it back.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	zh, err := Score(context.Background(), Config{Workdir: work, Buckets: 4, Lang: LangZH}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	gcLowering.Lock()
	depth := gcLowering.depth
	gcLowering.Unlock()
	if after := debug.SetGCPercent(100); after != 100 || depth != 0 {
		t.Errorf("after Score the collector's percent is %d (was 100), %d stages still lowering it", after, depth)
	}
	b, _ = os.ReadFile(zh.Report)
	for _, want := range []string{`lang="zh"`, "挽留名单 — 截至 2025-12-31", "风险等级", "忠诚度指标", "活动规模测算", "联系名单前", "数据质量"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Chinese report lacks %q", want)
		}
	}
	if strings.Contains(string(b), "<h2>Risk tiers") {
		t.Error("Chinese report has English section titles")
	}
}

// A cap on training rows keeps a sample of about that size, the same rows
// every time, each an unaltered row of its snapshot, with the label rate
// of the whole; train records the cap and fits on the sample.
func TestTrainRowCap(t *testing.T) {
	work := t.TempDir()
	const limit = 3000
	if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4, MaxTrainRows: limit}, asOf,
		IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	var art ChurnArtifact
	if _, err := loadChampion(work, KindChurn, &art); err != nil {
		t.Fatal(err)
	}
	if art.TrainConfig.MaxTrainRows != limit {
		t.Fatalf("artifact records cap %d", art.TrainConfig.MaxTrainRows)
	}
	var dirs []string
	for _, c := range art.TrainCutoffs {
		dirs = append(dirs, datasets.SnapshotDir(work, c))
	}
	ctx, mem := context.Background(), memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	Xall, yall, idsAll, freeAll, err := stackDesign(ctx, dirs, ChurnOrders, -1, mem, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll()
	if len(yall) < 2*limit {
		t.Fatalf("only %d training rows: the cap does not bite", len(yall))
	}
	X, y, ids, free, err := stackDesign(ctx, dirs, ChurnOrders, limit, mem, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer free()
	if n := len(y); n < limit*8/10 || n > limit*12/10 {
		t.Fatalf("%d rows kept of %d for a cap of %d", n, len(yall), limit)
	}
	if art.TrainExamples != len(y)+art.Validation.N {
		t.Errorf("final fit on %d rows, want the %d sampled plus %d of validation", art.TrainExamples, len(y), art.Validation.N)
	}
	same := func(a, b []float64) bool { // missing features are NaN
		return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
	}
	X2, y2, ids2, free2, _ := stackDesign(ctx, dirs, ChurnOrders, limit, mem, 0)
	defer free2()
	if !same(X, X2) || !slices.Equal(y, y2) || !slices.Equal(ids, ids2) {
		t.Fatal("two samples differ")
	}
	// Lead rows come first, zero, then the same design.
	const lead = 3
	X3, y3, _, free3, _ := stackDesign(ctx, dirs, ChurnOrders, limit, mem, lead)
	defer free3()
	p0 := len(features.ModelColumns)
	if len(X3) != len(X)+lead*p0 || !same(X3[lead*p0:], X) || slices.ContainsFunc(X3[:lead*p0], func(v float64) bool { return v != 0 }) || !slices.Equal(y3, y) {
		t.Fatal("lead rows are not zero rows before the same design")
	}
	// Every kept row is a row of the full design, in order.
	p := len(features.ModelColumns)
	j := 0
	for i := range y {
		for j < len(yall) && !(idsAll[j] == ids[i] && yall[j] == y[i] && same(Xall[j*p:(j+1)*p], X[i*p:(i+1)*p])) {
			j++
		}
		if j == len(yall) {
			t.Fatalf("kept row %d (%s) is not a row of the full design", i, ids[i])
		}
		j++
	}
	rate := func(y []float64) float64 {
		s := 0.0
		for _, v := range y {
			s += v
		}
		return s / float64(len(y))
	}
	if a, b := rate(y), rate(yall); math.Abs(a-b) > 0.05 {
		t.Errorf("churn rate %.3f in the sample, %.3f in all rows", a, b)
	}
}

// train --force rebuilds each snapshot once (in its fused pass), not once
// more for every load.
func TestTrainForceBuildsSnapshotsOnce(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	var log bytes.Buffer
	cfg := Config{Workdir: work, Buckets: 4, Force: true, Log: slog.New(slog.NewJSONHandler(&log, nil))}
	if _, err := Train(context.Background(), cfg, asOf); err != nil {
		t.Fatal(err)
	}
	built := map[string]int{}
	for _, l := range strings.Split(log.String(), "\n") {
		var e struct{ Msg, Stage, Cutoff string }
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "stage done" && e.Stage == "features" {
			built[e.Cutoff]++
		}
	}
	if len(built) < 3 {
		t.Fatalf("snapshots built: %v", built)
	}
	for c, n := range built {
		if n != 1 {
			t.Errorf("snapshot %s built %d times", c, n)
		}
	}
}

// A cap on validation rows validates on a stable sample of about that
// size: the artifact says how many rows could churn, the leaderboard's
// validation counts the sample, the final fit uses it with the same
// training rows, and a rerun picks the same rows (the same model version).
func TestValidationRowCap(t *testing.T) {
	const limit = 1000
	train := func(maxValid int) (ChurnArtifact, string) {
		t.Helper()
		work := t.TempDir()
		if _, err := Run(context.Background(), Config{Workdir: work, Buckets: 4, MaxValidRows: maxValid}, asOf,
			IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Now: asOf.AddDate(0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		var art ChurnArtifact
		v, err := loadChampion(work, KindChurn, &art)
		if err != nil {
			t.Fatal(err)
		}
		return art, v
	}
	full, _ := train(-1)
	if full.ValidationSampledFrom != 0 {
		t.Fatalf("uncapped: sampled from %d", full.ValidationSampledFrom)
	}
	capped, v1 := train(limit)
	if full.Validation.N < 2*limit || capped.ValidationSampledFrom != full.Validation.N {
		t.Fatalf("%d validation rows in all, sampled from %d: the cap does not bite", full.Validation.N, capped.ValidationSampledFrom)
	}
	if n := capped.Validation.N; n < limit*8/10 || n > limit*12/10 {
		t.Fatalf("validated on %d rows for a cap of %d", n, limit)
	}
	if got, want := capped.TrainExamples-capped.Validation.N, full.TrainExamples-full.Validation.N; got != want {
		t.Errorf("final fit on %d training rows besides validation, uncapped %d", got, want)
	}
	if _, v2 := train(limit); v2 != v1 {
		t.Errorf("two runs give models %s and %s", v1, v2)
	}
}

// A day memo gives f's strings inside its table and outside it, and shares
// the table's strings between calls.
func TestDayMemo(t *testing.T) {
	f := func(d int64) string { return dateString(time.Unix(d*86400, 0).UTC()) }
	m := newDayMemo(20000, 20100, f)
	for d := int64(19990); d <= 20110; d++ {
		if got := m.get(d); got != f(d) {
			t.Fatalf("day %d: %q, want %q", d, got, f(d))
		}
	}
	if a, b := m.get(20050), m.get(20050); unsafe.StringData(a) != unsafe.StringData(b) {
		t.Error("a day of the table gave two strings")
	}
	around := newDayMemo(-5, 5, f)
	for _, d := range []int64{math.MinInt64, -6, -5, 0, 5, 6, math.MaxInt64} {
		if got := around.get(d); got != f(d) {
			t.Errorf("day %d: %q, want %q", d, got, f(d))
		}
	}
	for _, r := range [][2]int64{{5, 4}, {0, maxDayMemo}, {math.MinInt64, math.MaxInt64}, {-2, math.MaxInt64}} {
		if m := newDayMemo(r[0], r[1], f); len(m.tab) != 0 || m.get(r[0]) != f(r[0]) {
			t.Errorf("range %v: a table of %d days", r, len(m.tab))
		}
	}
}

// Run builds the snapshot at as-of and the ones its training reads in one
// pass over the warehouse, with outputs byte for byte those of the stages
// run one by one (two passes); under --force too, where train used to
// build all of them again.
func TestRunFusesSnapshots(t *testing.T) {
	ctx := context.Background()
	in := IngestInput{Transactions: filepath.Join(shopDir(t), "transactions.csv"), Feedback: filepath.Join(shopDir(t), "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}
	cfg := Config{Buckets: 4}
	passes := func(f func()) int64 {
		t.Helper()
		before := snapshotPasses.Load()
		f()
		return snapshotPasses.Load() - before
	}

	fused := t.TempDir()
	cfg.Workdir = fused
	var res RunResult
	if n := passes(func() {
		var err error
		if res, err = Run(ctx, cfg, asOf, in); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("run made %d passes over the warehouse, want 1", n)
	}
	if res.Train.Reused || res.Features.Reused || res.Features.Cutoff != "2025-12-31" || res.Features.Customers != 4000 {
		t.Fatalf("run: features %+v, train reused %v", res.Features, res.Train.Reused)
	}

	apart := t.TempDir()
	cfg.Workdir = apart
	if n := passes(func() {
		if _, err := Ingest(ctx, cfg, in); err != nil {
			t.Fatal(err)
		}
		if _, err := Features(ctx, cfg, asOf); err != nil {
			t.Fatal(err)
		}
		if _, err := Train(ctx, cfg, asOf); err != nil {
			t.Fatal(err)
		}
		if _, err := Score(ctx, cfg, asOf); err != nil {
			t.Fatal(err)
		}
	}); n != 2 {
		t.Fatalf("the stages one by one made %d passes, want 2", n)
	}
	for _, dir := range []string{datasets.FeaturesDir, datasets.ModelsDir, datasets.ListsDir} {
		a, b := treeHashes(t, filepath.Join(fused, dir)), treeHashes(t, filepath.Join(apart, dir))
		delete(a, "LATEST") // Score alone does not publish
		delete(b, "LATEST")
		if len(a) == 0 || !maps.Equal(a, b) {
			t.Fatalf("%s differs between the run and the stages one by one:\n%v\n%v", dir, slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b)))
		}
	}

	// Trained already: the run builds the snapshot at as-of only (here
	// reused), and no pass is made at all.
	cfg.Workdir = fused
	if n := passes(func() {
		if _, err := Run(ctx, cfg, asOf, IngestInput{}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a rerun made %d passes, want 0", n)
	}
	if got := runCutoffs(cfg.WithDefaults(), asOf); len(got) != 1 || !got[0].Equal(asOf) {
		t.Fatalf("cutoffs once trained = %v, want as-of alone", got)
	}
	list := treeHashes(t, filepath.Join(fused, datasets.ListsDir))
	forced := cfg
	forced.Force = true
	if n := passes(func() {
		if _, err := Run(ctx, forced, asOf, IngestInput{}); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("run --force made %d passes, want 1", n)
	}
	if after := treeHashes(t, filepath.Join(fused, datasets.ListsDir)); !maps.Equal(after, list) {
		t.Fatal("run --force changed the list")
	}
}

// reasons phrases x's reasons in lang through a reasoner of its own.
func reasons(lang string, names []string, x, contrib, means, dirs []float64) string {
	r := newReasoner(lang, names, means, dirs)
	return r.text(r.top(x, contrib), x)
}

// The CLV models are fitted alongside the churn candidates: a failure
// there still fails train, with the file it could not read, and leaves
// the models as they were.
func TestTrainCLVFailure(t *testing.T) {
	work := t.TempDir()
	runChain(t, work)
	if err := os.Remove(filepath.Join(work, "models", "LAST_TRAIN.json")); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, filepath.Join(work, "models"))
	// The newest snapshot is read by the CLV fits alone (the churn models
	// learn from older ones).
	parts, err := filepath.Glob(filepath.Join(datasets.SnapshotDir(work, dateString(asOf)), "*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("snapshot parts %v, %v", parts, err)
	}
	for _, p := range parts {
		if err := os.WriteFile(p, []byte("not parquet"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Train(context.Background(), Config{Workdir: work, Buckets: 4}, asOf)
	if err == nil || !strings.Contains(err.Error(), filepath.Base(parts[0])) {
		t.Fatalf("train with an unreadable newest snapshot: %v", err)
	}
	if after := readTree(t, filepath.Join(work, "models")); !maps.EqualFunc(before, after, bytes.Equal) {
		t.Error("a failed train changed the models")
	}
}
