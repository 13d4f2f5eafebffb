package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// SchemaHash identifies the churn models' feature schema: their columns in
// order. A model is scored only on the schema it was trained on.
func SchemaHash() string {
	h := sha256.Sum256([]byte(strings.Join(features.ModelColumns, ",")))
	return hex.EncodeToString(h[:8])
}

// Promotion records whether a training run's churn model became champion.
type Promotion struct {
	Promoted        bool    `json:"promoted"`
	Reason          string  `json:"reason"`
	ChampionVersion string  `json:"champion_version,omitempty"` // the champion it was compared with
	ChampionAUC     float64 `json:"champion_auc,omitempty"`     // that champion's ROC AUC on this run's validation snapshot
}

// decidePromotion compares the new churn model with the current champion
// on the same out-of-time validation rows. The challenger is promoted when
// there is no usable champion (none, another feature schema, or older than
// cfg.MaxModelAge days: a stale model must not serve forever), or when its
// validation ROC AUC beats the champion's by cfg.PromoteMargin. A champion
// trained later than the validation cutoff has seen these labels and is
// favoured; the age rule keeps that from freezing the nightly model.
func decidePromotion(cfg Config, art *ChurnArtifact, cutoff time.Time, Xva, yva []float64) Promotion {
	var champ ChurnArtifact
	v, err := loadChampion(cfg.Workdir, KindChurn, &champ)
	switch {
	case err != nil:
		return Promotion{Promoted: true, Reason: "no champion yet"}
	case champ.SchemaHash != art.SchemaHash:
		return Promotion{Promoted: true, Reason: "the champion " + v + " was trained on another feature schema", ChampionVersion: v}
	case champ.ChurnDefinition() != art.ChurnDefinition():
		return Promotion{Promoted: true, Reason: fmt.Sprintf("the champion %s predicts another churn (%s, now %s)", v, champ.ChurnDefinition(), art.ChurnDefinition()), ChampionVersion: v}
	}
	if trained, err := ParseDate(champ.ValidatedOn); err == nil {
		if age := int(cutoff.Sub(trained).Hours() / 24); age > cfg.MaxModelAge+cfg.Horizon {
			return Promotion{Promoted: true, Reason: fmt.Sprintf("the champion %s is %d days older than its data allows (max model age %d days)", v, age-cfg.Horizon, cfg.MaxModelAge), ChampionVersion: v}
		}
	}
	var clv CLVArtifact
	if _, err := loadChampion(cfg.Workdir, KindCLV, &clv); err != nil {
		clv = CLVArtifact{}
	}
	m, err := champ.Classifier(&clv)
	if err != nil {
		return Promotion{Promoted: true, Reason: "the champion " + v + " cannot be loaded: " + err.Error(), ChampionVersion: v}
	}
	p := m.PredictAll(Xva)
	for i := range p {
		p[i] = champ.Calibrate(p[i])
	}
	auc := models.Evaluate(p, yva).AUC
	pr := Promotion{ChampionVersion: v, ChampionAUC: round4(auc)}
	if art.Validation.AUC >= auc+cfg.PromoteMargin {
		pr.Promoted, pr.Reason = true, fmt.Sprintf("ROC AUC %.4f vs the champion's %.4f on the same validation (margin %+.4f)", art.Validation.AUC, auc, cfg.PromoteMargin)
	} else {
		pr.Reason = fmt.Sprintf("kept the champion: ROC AUC %.4f vs its %.4f on the same validation (margin %+.4f)", art.Validation.AUC, auc, cfg.PromoteMargin)
	}
	return pr
}

// ModelInfo is one saved model version, for `churn models list`.
type ModelInfo struct {
	Kind, Version, Cutoff, Model string
	Champion                     bool
	AUC                          float64 // churn: out-of-time ROC AUC
	Promotion                    string  // churn: the training run's decision
}

// ListModels lists the saved versions of a model kind, newest first.
func ListModels(workdir, kind string) ([]ModelInfo, error) {
	if kind != KindChurn && kind != KindCLV {
		return nil, fmt.Errorf("pipeline: model kind %q: want %s or %s", kind, KindChurn, KindCLV)
	}
	root := filepath.Join(workdir, datasets.ModelsDir, kind)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("pipeline: no %s models in %s: %w", kind, workdir, err)
	}
	champ, _ := os.ReadFile(filepath.Join(root, datasets.ChampionFile))
	var out []ModelInfo
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || !datasets.Committed(dir) {
			continue
		}
		m, err := datasets.ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		info := ModelInfo{Kind: kind, Version: e.Name(), Cutoff: m.Meta["cutoff"], Model: m.Meta["model"] + m.Meta["purchase_model"],
			Champion: strings.TrimSpace(string(champ)) == e.Name()}
		if kind == KindChurn {
			var a ChurnArtifact
			if b, err := os.ReadFile(filepath.Join(dir, "model.json")); err == nil && json.Unmarshal(b, &a) == nil {
				info.AUC = a.Validation.AUC
				if a.Promotion != nil {
					info.Promotion = a.Promotion.Reason
				}
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ModelInfo) int { return strings.Compare(b.Version, a.Version) })
	return out, nil
}

// ShowModel returns a saved model's model.json.
func ShowModel(workdir, kind, version string) ([]byte, error) {
	dir := filepath.Join(workdir, datasets.ModelsDir, kind, filepath.Base(version))
	if !datasets.Committed(dir) {
		return nil, fmt.Errorf("pipeline: no complete %s model %s in %s", kind, version, workdir)
	}
	return os.ReadFile(filepath.Join(dir, "model.json"))
}

// PromoteModel makes a saved version the champion of its kind; a churn
// model must have been trained on the current feature schema.
func PromoteModel(workdir, kind, version string) error {
	b, err := ShowModel(workdir, kind, version)
	if err != nil {
		return err
	}
	if kind == KindChurn {
		var a ChurnArtifact
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("pipeline: model %s: %w", version, err)
		}
		if a.SchemaHash != SchemaHash() {
			return fmt.Errorf("pipeline: churn model %s was trained on another feature schema (%s, now %s); it cannot be scored", version, a.SchemaHash, SchemaHash())
		}
	}
	return datasets.WriteFileAtomic(filepath.Join(workdir, datasets.ModelsDir, kind, datasets.ChampionFile), []byte(filepath.Base(version)+"\n"))
}
