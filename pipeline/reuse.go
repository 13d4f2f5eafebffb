package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// lastTrainFile records the newest training: what it was trained from and
// what it produced, so an identical rerun can skip it.
const lastTrainFile = "LAST_TRAIN.json"

type lastTrain struct {
	InputsKey string      `json:"inputs_key"`
	Result    TrainResult `json:"result"`
}

// inputsKey hashes what a stage's output depends on.
func inputsKey(parts ...any) string {
	b, _ := json.Marshal(parts)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// trainKey is what a training at cutoff depends on: the warehouse, the
// feature schema and every setting that shapes the models.
func trainKey(cfg Config, cutoff time.Time) (string, error) {
	wv, _, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return "", err
	}
	parts := []any{"train", wv, dateString(cutoff), features.SchemaVersion(), cfg.Horizon, cfg.CLVHorizon, cfg.DiscountRate,
		cfg.Lambda, cfg.TrainSnapshots, cfg.SnapshotStep, cfg.MaxTrainRows, cfg.ChurnModels, cfg.ChurnDefinition, cfg.Seed, cfg.PromoteMargin, cfg.MaxModelAge,
		cfg.CancelWindow, cfg.Timezone, cfg.Tiers, cfg.TierWindow, cfg.SatisfactionWeights}
	if cfg.MaxValidRows != DefaultMaxValidRows { // the default leaves keys made before the cap existed as they were
		parts = append(parts, "max_valid_rows", cfg.MaxValidRows)
	}
	return inputsKey(parts...), nil
}

// reusableTrain returns the recorded result of an identical training whose
// models are still there.
func reusableTrain(cfg Config, key string) (TrainResult, bool) {
	b, err := os.ReadFile(filepath.Join(cfg.Workdir, datasets.ModelsDir, lastTrainFile))
	if err != nil {
		return TrainResult{}, false
	}
	var lt lastTrain
	if json.Unmarshal(b, &lt) != nil || lt.InputsKey != key {
		return TrainResult{}, false
	}
	var churnArt ChurnArtifact
	var clvArt CLVArtifact
	churnV, err1 := loadChampion(cfg.Workdir, KindChurn, &churnArt)
	clvV, err2 := loadChampion(cfg.Workdir, KindCLV, &clvArt)
	if err1 != nil || err2 != nil || clvV != lt.Result.CLVVersion || (lt.Result.Promotion.Promoted && churnV != lt.Result.ChurnVersion) {
		return TrainResult{}, false // the champions changed since (a promote, another training)
	}
	return lt.Result, true
}

// recordTrain writes models/LAST_TRAIN.json.
func recordTrain(cfg Config, key string, res TrainResult) error {
	b, err := json.MarshalIndent(lastTrain{InputsKey: key, Result: res}, "", "  ")
	if err != nil {
		return err
	}
	return datasets.WriteFileAtomic(filepath.Join(cfg.Workdir, datasets.ModelsDir, lastTrainFile), append(b, '\n'))
}

// reusableList returns the committed list of asOf when it was made from
// the same inputs (its manifest's inputs_key), unless cfg.Force.
func reusableList(cfg Config, asOf time.Time, key string) (ScoreResult, bool) {
	dir := datasets.ListDir(cfg.Workdir, dateString(asOf))
	m, err := datasets.ReadManifest(dir)
	if cfg.Force || err != nil || m.Meta["inputs_key"] != key {
		return ScoreResult{}, false
	}
	// The top rows and the count, from a scores file of the size the
	// manifest recorded (not one cut short).
	path := filepath.Join(dir, datasets.ScoresParquet)
	st, err := os.Stat(path)
	if err != nil || !slices.ContainsFunc(m.Files, func(f datasets.ManifestFile) bool { return f.Path == datasets.ScoresParquet && f.Bytes == st.Size() }) {
		return ScoreResult{}, false
	}
	top, n, err := datasets.ReadScoresHead(path, 10)
	if err != nil {
		return ScoreResult{}, false
	}
	return ScoreResult{Dir: dir, ListCSV: filepath.Join(dir, datasets.RetentionListCSV), Report: filepath.Join(dir, datasets.ReportHTML),
		Customers: int(n), Top: top, Reused: true}, true
}
