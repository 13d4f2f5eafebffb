package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// decidePromotion, case by case. The champion is a logistic regression on
// the first feature; on the validation rows below its ROC AUC is 0.75.
func TestDecidePromotionTable(t *testing.T) {
	p := len(features.ModelColumns)
	first := []float64{2, 3, 1, 2.5}
	labels := []float64{1, 1, 0, 0} // pairs (2,1) (2,2.5) (3,1) (3,2.5): 3 of 4 ordered
	var Xva, yva []float64
	for i := range first {
		row := make([]float64, p)
		row[0] = first[i]
		Xva, yva = append(Xva, row...), append(yva, labels[i])
	}
	cutoff := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	champion := func(mod func(*ChurnArtifact)) ChurnArtifact {
		a := ChurnArtifact{Kind: "logit", ValidatedOn: "2025-10-02", SchemaHash: SchemaHash(), Definition: ChurnOrders, Features: features.ModelColumns,
			Logit: &models.Logit{Features: features.ModelColumns, Mean: make([]float64, p), SD: ones(p), Coef: make([]float64, p)}}
		a.Logit.Coef[0] = 1
		if mod != nil {
			mod(&a)
		}
		return a
	}
	cases := []struct {
		name     string
		champ    *ChurnArtifact // nil: none saved
		auc      float64        // the new model's validation ROC AUC
		margin   float64
		def      string
		promoted bool
		reason   string
	}{
		{"first model", nil, 0.6, 0, ChurnOrders, true, "no champion yet"},
		{"better", ptr(champion(nil)), 0.80, 0, ChurnOrders, true, "ROC AUC 0.8000 vs the champion's 0.7500"},
		{"equal wins ties", ptr(champion(nil)), 0.75, 0, ChurnOrders, true, "vs the champion's 0.7500"},
		{"worse", ptr(champion(nil)), 0.70, 0, ChurnOrders, false, "kept the champion: ROC AUC 0.7000 vs its 0.7500"},
		{"better, not by the margin", ptr(champion(nil)), 0.80, 0.1, ChurnOrders, false, "kept the champion"},
		{"worse, within a negative margin", ptr(champion(nil)), 0.70, -0.1, ChurnOrders, true, "margin -0.1000"},
		{"other schema", ptr(champion(func(a *ChurnArtifact) { a.SchemaHash = "0123456789abcdef" })), 0.1, 0, ChurnOrders, true, "another feature schema"},
		{"other churn definition", ptr(champion(nil)), 0.1, 0, ChurnCancel, true, "another churn (orders, now cancel)"},
		{"old model saved before definitions", ptr(champion(func(a *ChurnArtifact) { a.Definition = "" })), 0.70, 0, ChurnOrders, false, "kept the champion"},
		{"too old", ptr(champion(func(a *ChurnArtifact) { a.ValidatedOn = "2025-06-01" })), 0.1, 0, ChurnOrders, true, "older than its data allows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			if c.champ != nil {
				if _, err := saveModel(work, KindChurn, cutoff, c.champ, &c.champ.Version, map[string]any{}, map[string]string{"model": "logit"}, true); err != nil {
					t.Fatal(err)
				}
			}
			cfg := Config{Workdir: work, PromoteMargin: c.margin}.WithDefaults()
			art := ChurnArtifact{SchemaHash: SchemaHash(), Definition: c.def, Validation: models.Metrics{AUC: c.auc}}
			pr := decidePromotion(cfg, &art, cutoff, Xva, yva)
			if pr.Promoted != c.promoted || !strings.Contains(pr.Reason, c.reason) {
				t.Errorf("promoted %v (%s), want %v (%q)", pr.Promoted, pr.Reason, c.promoted, c.reason)
			}
			if c.champ != nil && pr.ChampionVersion != c.champ.Version {
				t.Errorf("compared with %q, want %q", pr.ChampionVersion, c.champ.Version)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}
