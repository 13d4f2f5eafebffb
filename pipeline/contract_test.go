package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/internal/testutil"
)

// A subscription shop: subscribe and cancel events make churn contractual
// (auto), judged as a cancel within the horizon among the customers not
// cancelled at each cutoff; customers cancelled by the as-of day are
// listed as churned with no value left and a win-back action.
func TestContractualChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dir := t.TempDir()
	if _, err := datasets.Generate(context.Background(), datasets.SyntheticConfig{Customers: 4000, Seed: 5, Subscriptions: true}, filepath.Join(dir, "in")); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	in := IngestInput{Transactions: filepath.Join(dir, "in", "transactions.csv"), Feedback: filepath.Join(dir, "in", "feedback.csv"), Now: asOf.AddDate(0, 0, 1)}
	res, err := Run(context.Background(), Config{Workdir: work, Buckets: 4}, asOf, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Definition != ChurnCancel || res.Train.AtRiskExcluded == 0 {
		t.Fatalf("definition %q, %d cancelled customers left out", res.Train.Definition, res.Train.AtRiskExcluded)
	}
	var art ChurnArtifact
	if _, err := loadChampion(work, KindChurn, &art); err != nil {
		t.Fatal(err)
	}
	if art.ChurnDefinition() != ChurnCancel {
		t.Fatalf("champion definition %q", art.ChurnDefinition())
	}
	// The validation rows are exactly the customers not cancelled at its
	// cutoff, and the churners among them are those whose truth has a
	// dropout (= the cancel) within the horizon after it.
	snap, err := readSnapshot(context.Background(), datasets.SnapshotDir(work, art.ValidatedOn), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	status, _ := features.Strings(snap, features.SubscriptionStatus)
	ids, _ := features.Strings(snap, features.CustomerID)
	truth := readTruth(t, filepath.Join(dir, "in", "truth.csv"))
	validCut, _ := ParseDate(art.ValidatedOn)
	atRisk, churners := 0, 0
	for i, s := range status {
		if s == features.SubscriptionCancelled {
			continue
		}
		atRisk++
		if d := truth[ids[i]]; d != "" && d > art.ValidatedOn && d <= dateString(validCut.AddDate(0, 0, 90)) {
			churners++
		}
	}
	if got := int(math.Round(art.Validation.PositiveRate * float64(art.Validation.N))); art.Validation.N != atRisk || got != churners {
		t.Errorf("validation %d rows, %d churners; want %d and %d", art.Validation.N, got, atRisk, churners)
	}
	// Satisfaction and tenure carry the signal (the generator ties the
	// dropout rate to satisfaction); the BTYD baseline predicts orders, not
	// cancels, and must not win.
	for _, c := range art.Leaderboard {
		t.Logf("%-6s ROC AUC %.4f PR AUC %.4f", c.Model, c.Validation.AUC, c.Validation.PRAUC)
	}
	if art.Kind == "btyd" || art.Validation.AUC < 0.56 {
		t.Errorf("champion %s with ROC AUC %.4f", art.Kind, art.Validation.AUC)
	}

	rows, err := datasets.ReadScoresParquet(filepath.Join(work, datasets.ListsDir, "as-of=2025-12-31", datasets.ScoresParquet))
	if err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, r := range rows {
		gone := truth[r.CustomerID] != "" && truth[r.CustomerID] <= "2025-12-31"
		if gone {
			cancelled++
			if r.ChurnProbability != 1 || r.PredictedCLV != 0 || r.ValueAtRisk != 0 || r.PAlive != 0 || r.Contact ||
				!strings.HasPrefix(r.SuggestedAction, "Win-back: invite to resubscribe") || !strings.HasPrefix(r.Reasons, "cancelled ") {
				t.Fatalf("cancelled customer %+v", r)
			}
		} else if r.ChurnProbability >= 1 || strings.Contains(r.SuggestedAction, "resubscribe") {
			t.Fatalf("active customer %+v", r)
		}
	}
	if cancelled == 0 {
		t.Fatal("no cancelled customer in the list")
	}

	// The same data judged as non-contractual: another churn, so the new
	// model replaces the champion whatever its AUC.
	tr, err := Train(context.Background(), Config{Workdir: work, Buckets: 4, ChurnDefinition: ChurnOrders, PromoteMargin: 1}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Definition != ChurnOrders || !tr.Promotion.Promoted || !strings.Contains(tr.Promotion.Reason, "another churn (cancel, now orders)") {
		t.Errorf("orders on a subscription shop: %+v", tr)
	}
	if err := (Config{Workdir: work, ChurnDefinition: "contract"}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "auto, orders or cancel") {
		t.Errorf("unknown definition: %v", err)
	}
}

// readTruth maps customer id → dropout date ("" when alive at the end).
func readTruth(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range testutil.ReadCSV(t, path)[1:] {
		out[r[0]] = r[4]
	}
	return out
}
