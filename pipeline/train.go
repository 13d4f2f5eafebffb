package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/internal/offheap"
	"github.com/churn-dev/churn/models"
)

// Model kinds: folder names under <workdir>/models.
const (
	KindChurn = "churn"
	KindCLV   = "clv"
)

// ChurnArtifact is what train stores for the churn classifier.
type ChurnArtifact struct {
	Kind         string   `json:"kind"` // the champion: "logit" or "gbdt"
	Version      string   `json:"version"`
	TrainCutoff  string   `json:"trained_cutoff"`   // newest training snapshot: labels from (cutoff, cutoff+horizon]
	TrainCutoffs []string `json:"train_cutoffs"`    // every stacked training snapshot, newest first
	ValidatedOn  string   `json:"validated_cutoff"` // out-of-time validation snapshot
	RefitOn      string   `json:"refit_cutoff"`     // the final model adds this snapshot to the training ones
	HorizonDays  int      `json:"horizon_days"`
	// Definition is the churn it predicts: ChurnOrders (empty in models
	// saved before contractual churn) or ChurnCancel.
	Definition  string                `json:"churn_definition,omitempty"`
	Features    []string              `json:"features"`
	Logit       *models.Logit         `json:"logit,omitempty"`
	GBDT        *models.GBDT          `json:"gbdt,omitempty"`
	Golearn     *models.GolearnForest `json:"golearn,omitempty"`
	Calibration *models.Platt         `json:"calibration,omitempty"` // fitted on the champion's validation predictions
	// ExplainedBy names the learnt model that gives the reasons when the
	// champion (the BTYD baseline) has no readable per-feature terms.
	ExplainedBy string `json:"explained_by,omitempty"`
	// SchemaHash identifies the feature columns (SchemaHash()); scoring
	// refuses a model trained on another schema.
	SchemaHash string `json:"schema_hash"`
	// Promotion is the champion/challenger decision of its training run.
	Promotion *Promotion `json:"promotion,omitempty"`
	// TrainConfig is how the candidates were trained, seed included.
	TrainConfig   ChurnTrainConfig `json:"train_config"`
	Leaderboard   []ChurnCandidate `json:"leaderboard"`
	Validation    models.Metrics   `json:"validation"`     // the champion fitted on the training snapshots, judged on ValidatedOn
	TrainMetrics  models.Metrics   `json:"train"`          // in-sample, same model
	TrainExamples int              `json:"train_examples"` // rows of the final fit
	// ValidationSampledFrom is how many rows of the validation snapshot
	// could churn when more than --max-validation-rows did and a sample
	// stable by customer was validated on instead (0: every row was).
	ValidationSampledFrom int `json:"validation_sampled_from,omitempty"`
	// Means are the final training rows' feature means: a feature is a
	// reason only when the customer's value is on its churn-prone side.
	Means []float64 `json:"means"`
	// Directions holds, per feature, the sign of its correlation with churn in
	// the final training set. A feature is offered as a reason only when it
	// raises this customer's risk and the value lies on the side of the mean
	// that goes with churn, so artefacts ("25 orders in total" raising risk)
	// never reach a CRM user.
	Directions []float64 `json:"directions"`
}

// ChurnDefinition is the churn the model predicts, ChurnOrders or ChurnCancel.
func (a *ChurnArtifact) ChurnDefinition() string { return cmp.Or(a.Definition, ChurnOrders) }

// ChurnTrainConfig records the training configuration of a churn model.
type ChurnTrainConfig struct {
	Models         []string          `json:"models"`
	TrainSnapshots int               `json:"train_snapshots"`
	SnapshotStep   int               `json:"snapshot_step_days"`
	MaxTrainRows   int               `json:"max_train_rows,omitempty"` // the cap on stacked training rows (-1: none)
	CancelWindow   int               `json:"cancel_window_days"`
	Lambda         float64           `json:"logit_lambda"`
	GBDT           models.GBDTConfig `json:"gbdt"`
	Seed           uint64            `json:"seed"`
}

// ChurnCandidate is one churn model of a training run, fitted on the
// training snapshots and judged out of time on the validation snapshot.
type ChurnCandidate struct {
	Model      string         `json:"model"`
	Validation models.Metrics `json:"validation"`
	// CalibrationError is the expected calibration error (10 bins) of the
	// Platt-calibrated probabilities on the validation snapshot.
	CalibrationError float64 `json:"calibration_error"`
	Rounds           int     `json:"rounds,omitempty"` // GBDT: boosting rounds kept by early stopping
	Error            string  `json:"error,omitempty"`
	// Seconds is the fit's wall time: printed, never stored (artifacts
	// stay byte-identical across reruns).
	Seconds float64   `json:"-"`
	scores  []float64 // its validation scores, for the champion's calibration
}

// Classifier returns the champion churn model; the BTYD baseline takes
// its purchase model from clv, the CLV champion trained with it.
func (a *ChurnArtifact) Classifier(clv *CLVArtifact) (models.Classifier, error) {
	switch {
	case a.Kind == "gbdt" && a.GBDT != nil:
		return a.GBDT, nil
	case a.Kind == "logit" && a.Logit != nil:
		return a.Logit, nil
	case a.Kind == "golearn" && a.Golearn != nil:
		return a.Golearn, nil
	case a.Kind == "btyd" && clv != nil:
		m, err := clv.Model()
		if err != nil {
			return nil, err
		}
		b := newBTYDChurn(m.Purchases, a.HorizonDays)
		if len(a.Means) == len(features.ModelColumns) {
			b.means = a.Means
		}
		return b, nil
	}
	return nil, fmt.Errorf("pipeline: churn artifact %s has no %q model", a.Version, a.Kind)
}

// btydChurn is the BTYD baseline as a churn classifier: P(no purchase
// within the horizon | x, t_x, T) from a purchase model, no training. It
// reads x, t_x and T off the feature row (t_x = tenure − recency, T =
// tenure, in weeks). Its three inputs are explained by exact Shapley values
// on the log-odds scale against the training means (when known).
type btydChurn struct {
	m                 models.PurchaseModel
	horizonWeeks      float64
	ix, irec, itenure int
	means             []float64 // training means of the model columns; nil: no explanation
}

func newBTYDChurn(m models.PurchaseModel, horizonDays int) btydChurn {
	return btydChurn{m: m, horizonWeeks: float64(horizonDays) / daysPerWeek,
		ix: slices.Index(features.ModelColumns, features.BTYDX), irec: slices.Index(features.ModelColumns, features.RecencyDays),
		itenure: slices.Index(features.ModelColumns, features.TenureDays)}
}

func (b btydChurn) Predict(x []float64) float64 {
	T := x[b.itenure] / daysPerWeek
	p, err := models.ProbNoPurchase(b.m, b.horizonWeeks, x[b.ix], T-x[b.irec]/daysPerWeek, T)
	if err != nil || math.IsNaN(p) {
		return 0.5
	}
	return min(max(p, 1e-9), 1-1e-9)
}

func (b btydChurn) PredictAll(X []float64) []float64 {
	// Customers share (x, recency, tenure) by the thousand, and Pareto/NBD's
	// probability is an integral: each distinct triple once.
	p := len(features.ModelColumns)
	out := make([]float64, len(X)/p)
	type key [3]float64
	at := make(map[key]int)
	var uniq []int // a row of each distinct triple
	idx := make([]int, len(out))
	for i := range out {
		k := key{X[i*p+b.ix], X[i*p+b.irec], X[i*p+b.itenure]}
		u, ok := at[k]
		if !ok {
			u = len(uniq)
			at[k] = u
			uniq = append(uniq, i)
		}
		idx[i] = u
	}
	// As Predict does it, for every distinct triple at once
	// (models.ProbNoPurchaseAll shares the integral of those with the same
	// purchases and tenure).
	vals := make([]float64, len(uniq))
	x, tx, T := make([]float64, len(uniq)), make([]float64, len(uniq)), make([]float64, len(uniq))
	for u, i := range uniq {
		row := X[i*p : (i+1)*p]
		x[u], T[u] = row[b.ix], row[b.itenure]/daysPerWeek
		tx[u] = T[u] - row[b.irec]/daysPerWeek
	}
	err := models.ProbNoPurchaseAll(vals, b.m, b.horizonWeeks, x, tx, T)
	for u, v := range vals {
		if err != nil || math.IsNaN(v) {
			vals[u] = 0.5
			continue
		}
		vals[u] = min(max(v, 1e-9), 1-1e-9)
	}
	for i, u := range idx {
		out[i] = vals[u]
	}
	return out
}

// Explain splits logit P(x) − logit P(means) over the three inputs by
// their exact Shapley values (all 8 coalitions; absent inputs take the
// training mean) and returns logit P(means).
func (b btydChurn) Explain(dst, x []float64) float64 {
	clear(dst)
	logit := func(q float64) float64 { return math.Log(q / (1 - q)) }
	if b.means == nil {
		return logit(b.Predict(x))
	}
	cols := [3]int{b.ix, b.irec, b.itenure}
	var v [8]float64 // v[S]: log-odds with the inputs in S taken from x
	row := slices.Clone(b.means)
	for S := range 8 {
		for k, j := range cols {
			row[j] = b.means[j]
			if S&(1<<k) != 0 {
				row[j] = x[j]
			}
		}
		if row[b.irec] > row[b.itenure] { // recency cannot exceed tenure
			row[b.irec] = row[b.itenure]
		}
		v[S] = logit(b.Predict(row))
	}
	w := [3]float64{1.0 / 3, 1.0 / 6, 1.0 / 3} // |S|!(n−|S|−1)!/n! for |S| = 0, 1, 2
	for k, j := range cols {
		for S := range 8 {
			if S&(1<<k) == 0 {
				dst[j] += w[bits.OnesCount(uint(S))] * (v[S|1<<k] - v[S])
			}
		}
	}
	return v[0]
}

// Explainer returns the model whose contributions give the reasons: the
// champion itself, or the model named by ExplainedBy.
func (a *ChurnArtifact) Explainer(champion models.Classifier) models.Classifier {
	switch {
	case a.ExplainedBy == "gbdt" && a.GBDT != nil:
		return a.GBDT
	case a.ExplainedBy == "logit" && a.Logit != nil:
		return a.Logit
	}
	return champion
}

// Calibrate maps a raw model score to the calibrated churn probability.
func (a *ChurnArtifact) Calibrate(p float64) float64 {
	if a.Calibration != nil {
		p = a.Calibration.Apply(p)
	}
	return p
}

// CLVCandidate is one purchase model tried by train: fitted on the
// validation snapshot and judged on the purchase days of the horizon after it.
type CLVCandidate struct {
	Model            string    `json:"model"`
	ParamNames       []string  `json:"param_names,omitempty"`
	Params           []float64 `json:"params,omitempty"`
	LogLikelihood    float64   `json:"log_likelihood"`
	HoldoutMAE       float64   `json:"holdout_mae"`       // per customer, purchase days
	HoldoutPredicted float64   `json:"holdout_predicted"` // total purchase days
	HoldoutActual    float64   `json:"holdout_actual"`
	// ByFrequency compares mean purchase days in the horizon, actual and
	// predicted, by purchase days before it (x; 7 stands for 7 or more).
	ByFrequency []FrequencyRow `json:"by_frequency,omitempty"`
	Error       string         `json:"error,omitempty"` // why the fit failed
}

// CLVArtifact is what train stores for the CLV models.
type CLVArtifact struct {
	Kind          string            `json:"kind"` // "btyd+gamma-gamma"
	Version       string            `json:"version"`
	Cutoff        string            `json:"cutoff"`
	TimeUnit      string            `json:"time_unit"` // "week"
	PurchaseModel string            `json:"purchase_model"`
	ParamNames    []string          `json:"param_names"`
	Params        []float64         `json:"params"`
	LogLikelihood float64           `json:"log_likelihood"`
	Spend         models.GammaGamma `json:"gamma_gamma"`
	Customers     int               `json:"customers"`
	SelectedBy    string            `json:"selected_by"`
	Candidates    []CLVCandidate    `json:"candidates"`
	// Tracking is the tracking plot of the chosen model as fitted at the
	// validation cutoff: the cumulative repeat purchase days per week of the
	// customers first seen by then, actual and expected, through the
	// horizon after it; the calibration ends after TrackingCalibrationWeeks.
	Tracking                 []TrackingPoint `json:"tracking,omitempty"`
	TrackingCalibrationWeeks int             `json:"tracking_calibration_weeks,omitempty"`
}

// Model rebuilds the CLV model from the artifact.
func (a *CLVArtifact) Model() (models.CLV, error) {
	m, err := models.NewPurchaseModel(a.PurchaseModel, a.Params)
	if err != nil {
		return models.CLV{}, fmt.Errorf("pipeline: clv artifact %s: %w", a.Version, err)
	}
	return models.CLV{Purchases: m, Spend: a.Spend}, nil
}

// TrainResult names the promoted model versions.
type TrainResult struct {
	ChurnVersion, CLVVersion string
	Kind                     string // the new churn model's kind
	Definition               string // the churn it predicts: ChurnOrders or ChurnCancel
	AtRiskExcluded           int    // ChurnCancel: validation customers left out, cancelled at its cutoff
	Validation               models.Metrics
	Leaderboard              []ChurnCandidate
	Promotion                Promotion // whether the new churn model became champion, and why
	Reused                   bool      `json:",omitempty"` // an identical training's models were kept (rerun without --force)
	// ShardSnapshots: with Config.Shard, the shard's parts of the
	// snapshots the training reads (no model is fitted).
	ShardSnapshots []FeaturesResult `json:",omitempty"`
}

// trainCutoffs are the cutoffs of every snapshot a training at cutoff
// reads: validation (cutoff − horizon), cutoff itself (the BTYD fits), and
// the training snapshots every SnapshotStep days back from cutoff −
// 2·horizon, as many as configured and as the history from first allows
// (at least one).
func trainCutoffs(cfg Config, cutoff, first time.Time) []time.Time {
	validCut := cutoff.AddDate(0, 0, -cfg.Horizon)
	trainCut := validCut.AddDate(0, 0, -cfg.Horizon)
	cuts := []time.Time{validCut, cutoff}
	for k := range cfg.TrainSnapshots {
		if c := trainCut.AddDate(0, 0, -k*cfg.SnapshotStep); k == 0 || !c.Before(first.AddDate(0, 0, cfg.SnapshotStep)) {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// trainShard is a shard's share of a training at cutoff (Config.Shard):
// its buckets' parts of every snapshot the training reads, which the
// training then finishes and reads as a whole. The model stays global;
// the heavy work, building features from the warehouse, is the shards'.
func trainShard(ctx context.Context, cfg Config, cutoff time.Time) ([]FeaturesResult, error) {
	first, err := firstDay(cfg.Workdir)
	if err != nil {
		return nil, err
	}
	return snapshots(ctx, cfg, trainCutoffs(cfg, cutoff, first), cutoff)
}

// Train fits the churn classifier and the CLV models with data up to cutoff
// (no later data is read). The classifier is fitted on the snapshot at
// cutoff−2·horizon (labels end at cutoff−horizon), validated out of time on the
// snapshot at cutoff−horizon (labels end at cutoff), then refitted on the
// latter. BG/NBD and Gamma-Gamma are fitted on the snapshot at cutoff. Both
// become champions.
func Train(ctx context.Context, cfg Config, cutoff time.Time) (TrainResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return TrainResult{}, err
	}
	start := time.Now()
	if cfg.Shard.Sharded() {
		shards, err := trainShard(ctx, cfg, cutoff)
		return TrainResult{ShardSnapshots: shards}, err
	}
	key, err := trainKey(cfg, cutoff)
	if err != nil {
		return TrainResult{}, err
	}
	if res, ok := reusableTrain(cfg, key); ok && !cfg.Force {
		res.Reused = true
		cfg.Log.Info("models up to date, reused", "stage", "train", "run_id", cfg.RunID, "churn_model", res.ChurnVersion, "clv_model", res.CLVVersion)
		return res, nil
	}
	defer lowerGCPercent()()
	validCut := cutoff.AddDate(0, 0, -cfg.Horizon)
	trainCut := validCut.AddDate(0, 0, -cfg.Horizon)
	mem := memory.DefaultAllocator
	// The loads reuse what the fused build below made, --force or not.
	loadCfg := cfg
	loadCfg.Force = false
	// Snapshots are read a few columns at a time: at a million customers a
	// whole one holds about 0.7 GB.
	dirOf := func(c time.Time, wantLabels bool) (string, error) {
		fr, err := snapshot(ctx, loadCfg, c, cutoff)
		if err != nil {
			return "", err
		}
		if wantLabels && !fr.Labelled {
			return "", fmt.Errorf("pipeline: train: snapshot %s has no labels: data must reach %s", fr.Cutoff, dateString(c.AddDate(0, 0, cfg.Horizon)))
		}
		return fr.Dir, nil
	}
	// Training snapshots every SnapshotStep days back from trainCut, as many
	// as configured and as the history allows (at least one), stacked.
	var trainDirs, trainCuts []string
	first, err := firstDay(cfg.Workdir)
	if err != nil {
		return TrainResult{}, err
	}
	// Every snapshot train reads, built in one pass over the warehouse; the
	// reads below then reuse them (or, when this fails, meet the failure
	// snapshot by snapshot, with the message that fits).
	cuts := trainCutoffs(cfg, cutoff, first)
	if _, err := snapshots(ctx, cfg, cuts, cutoff); err != nil && ctx.Err() != nil {
		return TrainResult{}, err
	}
	cfg.logStage("train snapshots", int64(len(cuts)), start)
	for k := range cfg.TrainSnapshots {
		c := trainCut.AddDate(0, 0, -k*cfg.SnapshotStep)
		if k > 0 && c.Before(first.AddDate(0, 0, cfg.SnapshotStep)) {
			break // too little history before it for features worth learning from
		}
		dir, err := dirOf(c, true)
		if err != nil {
			if k == 0 {
				return TrainResult{}, fmt.Errorf("pipeline: train needs 2×horizon (%d days) of history before %s: %w", 2*cfg.Horizon, dateString(cutoff), err)
			}
			break
		}
		trainDirs = append(trainDirs, dir)
		trainCuts = append(trainCuts, dateString(c))
	}
	// The design matrix of the final fit holds the validation rows, then
	// the training rows; the candidates learn from and are judged on its
	// two halves, so no copy of either is ever made.
	validDir, err := dirOf(validCut, true)
	if err != nil {
		return TrainResult{}, err
	}
	keys, err := readSnapshot(ctx, validDir, mem, designKeyColumns...)
	if err != nil {
		return TrainResult{}, err
	}
	def, err := churnDefinition(cfg.ChurnDefinition, keys)
	if err != nil {
		keys.Release()
		return TrainResult{}, err
	}
	validRows := int(keys.NumRows())
	vrows, yva, vids, err := designRows(keys, def)
	keys.Release()
	if err != nil {
		return TrainResult{}, err
	}
	atRiskRows, sampledFrom := len(vrows), 0
	if cfg.MaxValidRows > 0 && len(vrows) > cfg.MaxValidRows {
		// As for the training rows: a sample by a hash of the customer, the
		// same on every run and for both classes (rows stay ascending).
		share, kept := float64(cfg.MaxValidRows)/float64(len(vrows)), 0
		for r, id := range vids {
			if stableShare(validSampleSeed, share, id) {
				vrows[kept], yva[kept] = vrows[r], yva[r]
				kept++
			}
		}
		vrows, yva, sampledFrom = vrows[:kept], yva[:kept], atRiskRows
	}
	p := len(features.ModelColumns)
	Xall, ytr, ids, freeX, err := stackDesign(ctx, trainDirs, def, cfg.MaxTrainRows, mem, len(vrows))
	if err != nil {
		return TrainResult{}, err
	}
	defer freeX() // every fit, judgement and summary below is done with it by the return
	nva := len(vrows) * p
	Xva, Xtr := Xall[:nva:nva], Xall[nva:]
	if err := readInto(ctx, validDir, Xva, vrows); err != nil {
		return TrainResult{}, err
	}
	nowDir, err := dirOf(cutoff, false)
	if err != nil {
		return TrainResult{}, err
	}
	// The CLV models are fitted in a goroutine of their own, started once
	// the logistic regression is fitted (startCLV), while the other churn
	// candidates are fitted: both mostly run on every core, but each
	// leaves gaps the other fills.
	type clvDone struct {
		art CLVArtifact
		err error
	}
	clvc := make(chan clvDone, 1)
	startCLV := func() {
		go func() {
			art, err := fitCLV(ctx, cfg, validDir, nowDir, cutoff, validCut, mem)
			clvc <- clvDone{art, err}
		}()
	}

	art := ChurnArtifact{TrainCutoff: trainCuts[0], TrainCutoffs: trainCuts, ValidatedOn: dateString(validCut),
		RefitOn: dateString(validCut), HorizonDays: cfg.Horizon, Definition: def, Features: features.ModelColumns}
	cands, fitted := trainChurnCandidates(cfg, Xtr, ytr, ids, Xva, yva, startCLV)
	// The final model learns from every labelled snapshot: the training
	// ones and the validation one. It is the best learnt candidate (the
	// champion, or, when the BTYD baseline or golearn's forest wins, the one
	// that explains it), so its fit starts now, beside the CLV fits' end,
	// the baseline's judgement and the champion's metrics, which leave a
	// core idle much of the time.
	refit := bestLearnt(cands)
	yall := append(slices.Clone(yva), ytr...)
	refitc := make(chan error, 1)
	var refitGBDT *models.GBDT
	var refitLogit *models.Logit
	go func() {
		var err error
		switch refit.Model {
		case "":
		case "gbdt":
			gcfg := gbdtConfig(cfg)
			gcfg.Trees = max(1, refit.Rounds)
			refitGBDT, err = models.FitGBDT(features.ModelColumns, Xall, yall, nil, nil, gcfg)
		default:
			refitLogit, err = models.FitLogit(features.ModelColumns, Xall, yall, models.LogitConfig{Lambda: cfg.Lambda})
		}
		refitc <- err
	}()
	done := <-clvc
	if done.err != nil {
		<-refitc // no goroutine outlives Train: the matrix is freed on return
		return TrainResult{}, done.err
	}
	clvArt := done.art
	// The BTYD baseline: the chosen purchase model as fitted at the
	// validation cutoff (data up to it only), no training on labels.
	for _, c := range clvArt.Candidates {
		if c.Model != clvArt.PurchaseModel || c.Error != "" || !slices.Contains(cfg.ChurnModels, "btyd") {
			continue
		}
		m, err := models.NewPurchaseModel(c.Model, c.Params)
		if err == nil {
			b := newBTYDChurn(m, cfg.Horizon)
			cands, fitted = append(cands, judgeChurn("btyd", b, 0, Xva, yva)), append(fitted, b)
		}
	}
	art.Leaderboard = cands
	best := bestCandidate(cands)
	if best < 0 {
		<-refitc
		why := "no candidates"
		if len(cands) > 0 {
			why = cands[0].Error
		}
		return TrainResult{}, fmt.Errorf("pipeline: train: no churn model could be fitted: %s", why)
	}
	champ := fitted[best]
	art.Kind, art.Validation = cands[best].Model, cands[best].Validation
	art.TrainMetrics = models.Evaluate(champ.PredictAll(Xtr), ytr)
	if c, err := models.FitPlatt(cands[best].scores, yva); err == nil {
		art.Calibration = &c
	}
	if art.Kind == "btyd" || art.Kind == "golearn" {
		if art.Kind == "golearn" {
			art.Golearn = champ.(*models.GolearnForest) // not refitted: its fit is too slow to repeat
		}
		// The BTYD baseline needs no refit (scoring uses the CLV
		// champion's purchase model) but explains its scores poorly for a
		// CRM reader, so the best learnt candidate, refitted, gives the
		// reasons.
		art.ExplainedBy = refit.Model
	}
	// What needs no refitted model is done while it fits.
	art.Directions = models.Directions(Xall, yall, p)
	art.Means = models.ColumnMeans(Xall, p)
	art.SchemaHash = SchemaHash()
	art.TrainConfig = ChurnTrainConfig{Models: cfg.ChurnModels, TrainSnapshots: cfg.TrainSnapshots, SnapshotStep: cfg.SnapshotStep, MaxTrainRows: cfg.MaxTrainRows,
		CancelWindow: cfg.CancelWindow, Lambda: cfg.Lambda, GBDT: gbdtConfig(cfg), Seed: cfg.Seed}
	pr := decidePromotion(cfg, &art, cutoff, Xva, yva)
	art.Promotion = &pr
	if err := <-refitc; err != nil {
		return TrainResult{}, err
	}
	art.GBDT, art.Logit = refitGBDT, refitLogit
	art.TrainExamples = len(yall)
	art.ValidationSampledFrom = sampledFrom

	res := TrainResult{Validation: art.Validation, Promotion: pr}
	if res.ChurnVersion, err = saveModel(cfg.Workdir, KindChurn, cutoff, &art, &art.Version, map[string]any{"metrics": art.Validation, "train": art.TrainMetrics, "leaderboard": art.Leaderboard, "promotion": pr}, map[string]string{"model": art.Kind}, pr.Promoted); err != nil {
		return res, err
	}
	if res.CLVVersion, err = saveModel(cfg.Workdir, KindCLV, cutoff, &clvArt, &clvArt.Version, map[string]any{"purchase_model": clvArt.PurchaseModel, "log_likelihood": clvArt.LogLikelihood, "candidates": clvArt.Candidates, "gamma_gamma_log_likelihood": clvArt.Spend.LogLik}, map[string]string{"purchase_model": clvArt.PurchaseModel, "selected_by": clvArt.SelectedBy}, true); err != nil {
		return res, err
	}
	cfg.logStage("train", int64(len(ytr)+len(yva)), start, "churn_model", res.ChurnVersion, "churn_kind", art.Kind, "clv_model", res.CLVVersion, "purchase_model", clvArt.PurchaseModel,
		"validation_auc", round4(art.Validation.AUC), "validation_pr_auc", round4(art.Validation.PRAUC))
	res.Kind, res.Leaderboard, res.Definition = art.Kind, art.Leaderboard, def
	res.AtRiskExcluded = validRows - atRiskRows
	return res, recordTrain(cfg, key, res)
}

// lowGCPercent is the collector's heap growth while training and scoring.
// The fits hold a large design matrix and allocate little beside it; score
// and merge hold a row per customer. A heap that grows to 1.5 times the
// live data between collections instead of twice costs them no time and
// lowers what the two largest stages ask of the machine (at 1M, churn train
// --force: 2.86 → 2.26 GB peak RSS, 60.9 and 59.8 s; churn score --force:
// 1.45 → 1.10 GB, 17.1 s both, measured when score held 264-byte rows).
const lowGCPercent = 50

// lowerGCPercent sets the collector's percent to lowGCPercent unless GOGC
// says otherwise or it is lower already, and returns what puts it back.
// Stages running at once share the setting: the first lowers it, the last
// to finish puts it back.
func lowerGCPercent() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gcLowering.Lock()
	defer gcLowering.Unlock()
	if gcLowering.depth == 0 {
		gcLowering.prev = debug.SetGCPercent(lowGCPercent)
		if p := gcLowering.prev; p >= 0 && p < lowGCPercent {
			debug.SetGCPercent(p)
		}
	}
	gcLowering.depth++
	return sync.OnceFunc(func() {
		gcLowering.Lock()
		defer gcLowering.Unlock()
		if gcLowering.depth--; gcLowering.depth == 0 {
			debug.SetGCPercent(gcLowering.prev)
		}
	})
}

var gcLowering struct {
	sync.Mutex
	depth, prev int
}

// trainChurnCandidates fits every churn model on the training rows and
// judges it on the validation rows. The GBDT stops early on a held-out
// fifth of the training customers (by a hash of the id, so a customer's
// rows across snapshots stay together); the validation snapshot is never
// seen before judging. afterLogit is called once, when the logistic
// regression is fitted (or left out), before it is judged and the GBDT is
// fitted: train starts the CLV fits there, so that they do not overlap
// the logit's standardised copy of the training rows.
func trainChurnCandidates(cfg Config, Xtr, ytr []float64, ids []string, Xva, yva []float64, afterLogit func()) ([]ChurnCandidate, []models.Classifier) {
	var cands []ChurnCandidate
	var fitted []models.Classifier
	var start time.Time
	judge := func(name string, m models.Classifier, rounds int, err error) {
		secs := time.Since(start).Seconds()
		if err != nil {
			cands, fitted = append(cands, ChurnCandidate{Model: name, Error: err.Error(), Seconds: secs}), append(fitted, nil)
			return
		}
		c := judgeChurn(name, m, rounds, Xva, yva)
		c.Seconds = secs
		cands, fitted = append(cands, c), append(fitted, m)
	}
	if slices.Contains(cfg.ChurnModels, "logit") {
		start = time.Now()
		lr, err := models.FitLogit(features.ModelColumns, Xtr, ytr, models.LogitConfig{Lambda: cfg.Lambda})
		// The CLV fits start before the logit is judged: the judging
		// (Platt scaling, metrics) runs on one core for about 0.3 s at 1M
		// customers, and the fit has freed its copy of the rows.
		afterLogit()
		judge("logit", lr, 0, err)
	} else {
		afterLogit()
	}
	if slices.Contains(cfg.ChurnModels, "gbdt") {
		start = time.Now()
		held := make([]bool, len(ids))
		for i, id := range ids {
			held[i] = datasets.Bucket(id, 5) == 0
		}
		// The held-out rows are read where they are in Xtr: no copy.
		gb, err := models.FitGBDTHeldOut(features.ModelColumns, Xtr, ytr, held, gbdtConfig(cfg))
		rounds := 0
		if err == nil {
			rounds = gb.BestRound
		}
		judge("gbdt", gb, rounds, err)
	}
	if slices.Contains(cfg.ChurnModels, "golearn") {
		// golearn's CART is slow (it sorts at every node): a seeded sample.
		start = time.Now()
		gl, err := models.FitGolearn(features.ModelColumns, Xtr, ytr, models.GolearnConfig{Trees: 10, MaxDepth: 6, SampleRows: 3000, Seed: cfg.Seed})
		judge("golearn", gl, 0, err)
	}
	return cands, fitted
}

// bestCandidate is the index of the champion: the fitted candidate with
// the best validation AUC (the first within 1e-9 of it), or −1 if none was
// fitted.
func bestCandidate(cands []ChurnCandidate) int {
	best := -1
	for i, c := range cands {
		if c.Error == "" && (best < 0 || c.Validation.AUC > cands[best].Validation.AUC+1e-9) {
			best = i
		}
	}
	return best
}

// bestLearnt is the candidate refitted as the final model: bestCandidate
// among the logistic regression and the GBDT, or none. It is the champion
// whenever the champion is one of them (they are judged first), so Train
// can start its fit before the other candidates are judged.
func bestLearnt(cands []ChurnCandidate) ChurnCandidate {
	learnt := slices.DeleteFunc(slices.Clone(cands), func(c ChurnCandidate) bool { return c.Model != "logit" && c.Model != "gbdt" })
	if b := bestCandidate(learnt); b >= 0 {
		return learnt[b]
	}
	return ChurnCandidate{}
}

// judgeChurn evaluates a fitted candidate on the validation rows, and the
// calibration error its Platt-calibrated probabilities would have.
func judgeChurn(name string, m models.Classifier, rounds int, Xva, yva []float64) ChurnCandidate {
	c := ChurnCandidate{Model: name, Rounds: rounds}
	pva := m.PredictAll(Xva)
	c.scores = pva
	c.Validation = models.Evaluate(pva, yva)
	if pl, err := models.FitPlatt(pva, yva); err == nil {
		q := make([]float64, len(pva))
		for i := range pva {
			q[i] = pl.Apply(pva[i])
		}
		c.CalibrationError = round4(models.Evaluate(q, yva).ECE)
	}
	return c
}

// gbdtConfig is the GBDT configuration of a training run.
func gbdtConfig(cfg Config) models.GBDTConfig {
	return models.GBDTConfig{Trees: 300, LearningRate: 0.1, MaxDepth: 6, MaxLeaves: 31, MinChildWeight: 5, Lambda: 1, Subsample: 0.8, ColSample: 0.8, Seed: cfg.Seed}
}

// designKeyColumns are the snapshot columns designRows reads.
var designKeyColumns = []string{features.CustomerID, features.LabelChurned, features.LabelCancelled, features.SubscriptionStatus}

// btydColumns are the snapshot columns btydSummary reads.
var btydColumns = []string{features.BTYDX, features.BTYDTx, features.BTYDT, features.BTYDMeanSpend}

// stackDesign stacks the design matrices of the labelled snapshots in dirs
// and returns every row's customer id. Each snapshot is read twice, a few
// columns at a time: its ids and labels (to choose the rows), then its
// model columns (copied into the matrix, which is allocated once at its
// final size, and released), so memory holds one snapshot's columns. X
// starts with lead rows left zero for the caller (y and ids do not); free
// releases it (it may be off the Go heap: no slice of it may be used after).
func stackDesign(ctx context.Context, dirs []string, def string, maxRows int, mem memory.Allocator, lead int) (X, y []float64, ids []string, free func(), err error) {
	rows := make([][]int, len(dirs))
	ys, idss := make([][]float64, len(dirs)), make([][]string, len(dirs))
	total := 0
	for k, dir := range dirs {
		rec, err := readSnapshot(ctx, dir, mem, designKeyColumns...)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		rows[k], ys[k], idss[k], err = designRows(rec, def)
		rec.Release()
		if err != nil {
			return nil, nil, nil, nil, err
		}
		total += len(rows[k])
	}
	if maxRows > 0 && total > maxRows {
		// Keep a row when a hash of its customer and snapshot falls below
		// maxRows/total: the same rows on every run, every snapshot and
		// both classes sampled alike.
		share := float64(maxRows) / float64(total)
		for k := range dirs {
			kept := 0
			for r, id := range idss[k] {
				if stableShare(trainSampleSeed+uint64(k), share, id) {
					rows[k][kept], ys[k][kept], idss[k][kept] = rows[k][r], ys[k][r], id
					kept++
				}
			}
			rows[k], ys[k], idss[k] = rows[k][:kept], ys[k][:kept], idss[k][:kept]
		}
	}
	n := 0
	for k := range dirs {
		y, ids, n = append(y, ys[k]...), append(ids, idss[k]...), n+len(rows[k])
	}
	p := len(features.ModelColumns)
	// Off the heap: make would clear the matrix on one core first, and in
	// churn run, after the feature stage's buffers, that meant faulting in
	// every page on that core; mapped fresh, the readers fault them in on
	// every core as they fill them.
	X, free = offheap.Floats((lead + n) * p)
	off := lead
	for k, dir := range dirs {
		if err := readInto(ctx, dir, X[off*p:(off+len(rows[k]))*p], rows[k]); err != nil {
			free()
			return nil, nil, nil, nil, err
		}
		off += len(rows[k])
	}
	return X, y, ids, free, nil
}

// readInto writes the model columns of the given rows (ascending) of the
// snapshot in dir into dst, row-major, reading only those columns, part by
// part, page by page (a column scan: no Arrow arrays in between).
func readInto(ctx context.Context, dir string, dst []float64, rows []int) error {
	return datasets.ScanSnapshotParts(ctx, dir, features.ModelColumns, func(first int64, s *datasets.ColumnScan) error {
		if err := fillRows(dst, rows, int(first), s.Chunks()); err != nil {
			return fmt.Errorf("pipeline: snapshot %s: %w", dir, err)
		}
		return nil
	})
}

// fillRows writes the model columns of the given rows (ascending, snapshot
// row numbers) that fall in chunks, a part's rows from its first on, to
// their places in dst (row-major, p a row, one per element of rows).
func fillRows(dst []float64, rows []int, first int, chunks iter.Seq2[*datasets.ColumnChunk, error]) error {
	p := len(features.ModelColumns)
	k, _ := slices.BinarySearch(rows, first) // the next row to fill
	at := first                              // the snapshot row of the chunk's first
	var local []int
	for c, err := range chunks {
		if err != nil {
			return err
		}
		end := k
		for end < len(rows) && rows[end] < at+c.N {
			end++
		}
		local = local[:0]
		for _, i := range rows[k:end] {
			local = append(local, i-at)
		}
		if err := fillChunk(dst[k*p:end*p], c, local); err != nil {
			return err
		}
		k, at = end, at+c.N
	}
	return nil
}

// fillChunk writes the model columns of the chunk's rows local into dst
// (row-major), as fillFeatures does from Arrow: numbers as float64, nulls
// as NaN. It goes a block of rows at a time, every column in turn, so the
// block's rows stay in the cache while its columns are written.
func fillChunk(dst []float64, c *datasets.ColumnChunk, local []int) error {
	p := len(features.ModelColumns)
	const block = 256
	for lo := 0; lo < len(local); lo += block {
		rows := local[lo:min(lo+block, len(local))]
		out := dst[lo*p:]
		for j, name := range features.ModelColumns {
			if err := chunkFloats(out[j:], p, c, name, rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunkFloats writes the named column of the chunk's rows local to dst[0],
// dst[stride], … as float64: a double as it is (a null is NaN already), an
// int64 converted, a null NaN (the snapshots' numeric columns are doubles
// and int64s).
func chunkFloats(dst []float64, stride int, c *datasets.ColumnChunk, name string, local []int) error {
	switch f, i := c.Float64s(name), c.Int64s(name); {
	case f != nil:
		for r, k := range local {
			dst[r*stride] = f[k]
		}
	case i != nil:
		fillInt64s(dst, stride, i, c.Valid(name), local)
	default:
		return fmt.Errorf("column %s is missing or neither a double nor an int64 (have %v)", name, c.Names())
	}
	return nil
}

// fillInt64s writes vals[rows] to dst[0], dst[stride], … as float64, NaN
// where valid (nil: all valid) says null.
func fillInt64s(dst []float64, stride int, vals []int64, valid []bool, rows []int) {
	for r, i := range rows {
		dst[r*stride] = float64(vals[i])
	}
	if valid != nil {
		for r, i := range rows {
			if !valid[i] {
				dst[r*stride] = math.NaN()
			}
		}
	}
}

// trainSampleSeed (+ the snapshot's number) seeds the training-row sample,
// apart from the seeds of the control group; validSampleSeed the
// validation-row sample.
const (
	trainSampleSeed = 0x74726169_6e000000
	validSampleSeed = 0x76616c69_64000000
)

// churnDefinition resolves the configured churn definition: auto is
// contractual (ChurnCancel) when any customer of the labelled snapshot
// has subscribe or cancel events, else ChurnOrders.
func churnDefinition(configured string, rec arrow.RecordBatch) (string, error) {
	if configured != ChurnAuto {
		return configured, nil
	}
	status, err := features.Strings(rec, features.SubscriptionStatus)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(status, func(s string) bool { return s != "" }) {
		return ChurnCancel, nil
	}
	return ChurnOrders, nil
}

// atRisk reports, per row of a snapshot, whether the customer can still
// churn: every customer for ChurnOrders, those not cancelled at the
// cutoff for ChurnCancel.
func atRisk(rec arrow.RecordBatch, def string) ([]bool, error) {
	keep := make([]bool, rec.NumRows())
	if def != ChurnCancel {
		for i := range keep {
			keep[i] = true
		}
		return keep, nil
	}
	status, err := features.Strings(rec, features.SubscriptionStatus)
	if err != nil {
		return nil, err
	}
	for i, s := range status {
		keep[i] = s != features.SubscriptionCancelled
	}
	return keep, nil
}

// firstDay returns the first day of data in the warehouse.
func firstDay(workdir string) (time.Time, error) {
	info, err := datasets.OpenWarehouse(workdir)
	if err != nil {
		return time.Time{}, err
	}
	return dayOf(info.MinTS), nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// readSnapshot reads the named columns of a committed snapshot (every
// column when none is named).
func readSnapshot(ctx context.Context, dir string, mem memory.Allocator, columns ...string) (arrow.RecordBatch, error) {
	rec, _, err := datasets.ReadSnapshot(ctx, dir, mem, columns...)
	return rec, err
}

// designRows returns the rows of a labelled snapshot that can churn under
// def, with their labels and customer ids.
func designRows(rec arrow.RecordBatch, def string) (rows []int, y []float64, ids []string, err error) {
	keep, err := atRisk(rec, def)
	if err != nil {
		return nil, nil, nil, err
	}
	label := features.LabelChurned
	if def == ChurnCancel {
		label = features.LabelCancelled
	}
	all, err := features.Float64s(rec, label)
	if err != nil {
		return nil, nil, nil, err
	}
	allIDs, err := features.Strings(rec, features.CustomerID)
	if err != nil {
		return nil, nil, nil, err
	}
	rows = make([]int, 0, len(keep))
	for i, k := range keep {
		if k {
			rows = append(rows, i)
		}
	}
	y, ids = make([]float64, len(rows)), make([]string, len(rows))
	for r, i := range rows {
		y[r], ids[r] = all[i], allIDs[i]
	}
	return rows, y, ids, nil
}

// featureMatrix returns the model columns of every row of rec as a
// row-major matrix.
func featureMatrix(rec arrow.RecordBatch, workers int) ([]float64, error) {
	X := make([]float64, int(rec.NumRows())*len(features.ModelColumns))
	return X, fillFeatures(X, rec, nil, workers)
}

// fillFeatures writes the model columns of the given rows of rec (every
// row when rows is nil) into dst, row-major. It goes block by block of
// rows, every column in turn, so a block's rows stay in the cache while
// its columns are written; blocks run on workers goroutines.
func fillFeatures(dst []float64, rec arrow.RecordBatch, rows []int, workers int) error {
	p := len(features.ModelColumns)
	cols := make([]features.Numbers, p)
	for j, name := range features.ModelColumns {
		var err error
		if cols[j], err = features.NumberColumn(rec, name); err != nil {
			return err
		}
	}
	n := len(rows)
	if rows == nil {
		n = int(rec.NumRows())
	}
	const block = 1024
	parallelChunks(workers, n, block, func(lo, hi int) {
		for j := range cols {
			cols[j].Fill(dst[lo*p+j:hi*p], p, rows, lo, hi)
		}
	})
	return nil
}

const daysPerWeek = 7.0

// btydSummary returns x, t_x and T (weeks) and mean repeat spend of rec.
func btydSummary(rec arrow.RecordBatch) (x, tx, T, mx []float64, err error) {
	get := func(name string) []float64 {
		if err != nil {
			return nil
		}
		var v []float64
		v, err = features.Float64s(rec, name)
		return v
	}
	x, tx, T, mx = get(features.BTYDX), get(features.BTYDTx), get(features.BTYDT), get(features.BTYDMeanSpend)
	if err != nil {
		return
	}
	for i := range tx {
		tx[i] /= daysPerWeek
		T[i] /= daysPerWeek
	}
	return
}

// clvCandidates are the purchase models train compares, in order of preference on ties.
var clvCandidates = []string{"bgnbd", "mbgnbd", "pareto-nbd"}

// observed keeps the customers with T > 0: those first seen on the cutoff
// day carry no information for a fit (they are still scored).
func observed(x, tx, T []float64) (fx, ftx, fT []float64, idx []int) {
	for i := range x {
		if T[i] > 0 {
			fx, ftx, fT, idx = append(fx, x[i]), append(ftx, tx[i]), append(fT, T[i]), append(idx, i)
		}
	}
	return
}

// fitCLV reads the BTYD columns of the validation and newest snapshots,
// picks and fits the purchase model on them (trainCLV) and adds the
// tracking plot (clvTracking).
func fitCLV(ctx context.Context, cfg Config, validDir, nowDir string, cutoff, validCut time.Time, mem memory.Allocator) (CLVArtifact, error) {
	validRec, err := readSnapshot(ctx, validDir, mem, append(slices.Clone(btydColumns), features.LabelFutureDays)...)
	if err != nil {
		return CLVArtifact{}, err
	}
	defer validRec.Release()
	nowRec, err := readSnapshot(ctx, nowDir, mem, btydColumns...)
	if err != nil {
		return CLVArtifact{}, err
	}
	defer nowRec.Release()
	start := time.Now()
	art, validModel, err := trainCLV(validRec, nowRec, cfg.Horizon)
	if err != nil {
		return CLVArtifact{}, err
	}
	art.Cutoff = dateString(cutoff)
	if err := clvTracking(ctx, cfg, &art, validModel, validCut); err != nil {
		return CLVArtifact{}, err
	}
	cfg.logStage("clv", nowRec.NumRows(), start, "purchase_model", art.PurchaseModel)
	return art, nil
}

// trainCLV picks the purchase model with the smallest per-customer error in
// predicting the purchase days of the horizon after the validation snapshot,
// refits it and Gamma-Gamma on the newest snapshot, and records every candidate.
func trainCLV(validRec, nowRec arrow.RecordBatch, horizonDays int) (CLVArtifact, models.PurchaseModel, error) {
	art := CLVArtifact{Kind: "btyd+gamma-gamma", TimeUnit: "week",
		SelectedBy: fmt.Sprintf("smallest mean absolute error of predicted purchase days over the %d days after the validation snapshot", horizonDays)}
	x, tx, T, _, err := btydSummary(validRec)
	if err != nil {
		return art, nil, err
	}
	future, err := features.Float64s(validRec, features.LabelFutureDays)
	if err != nil {
		return art, nil, err
	}
	fx, ftx, fT, idx := observed(x, tx, T)
	ix := models.IndexRF(fx, ftx, fT) // grouped once for the fits and every candidate's predictions
	groups := ix.Compress()
	h := float64(horizonDays) / daysPerWeek
	best := -1
	var bestModel models.PurchaseModel
	for _, name := range clvCandidates {
		c := CLVCandidate{Model: name}
		m, err := models.FitPurchaseModel(name, groups)
		if err != nil {
			c.Error = err.Error()
			art.Candidates = append(art.Candidates, c)
			continue
		}
		c.ParamNames, c.Params, c.LogLikelihood = m.ParamNames(), m.ParamValues(), models.TotalLogLik(m, groups)
		byX := make([]FrequencyRow, 8)
		preds := make([]float64, len(idx))
		ix.ExpectedPurchases(preds, m, h)
		for k, i := range idx {
			pred := preds[k]
			c.HoldoutPredicted += pred
			c.HoldoutActual += future[i]
			c.HoldoutMAE += math.Abs(pred - future[i])
			r := &byX[min(int(fx[k]), 7)]
			r.Customers++
			r.Actual += future[i]
			r.Predicted += pred
		}
		c.HoldoutMAE /= float64(len(idx))
		for x, r := range byX {
			if r.Customers > 0 {
				r.X, r.Actual, r.Predicted = x, r.Actual/float64(r.Customers), r.Predicted/float64(r.Customers)
				c.ByFrequency = append(c.ByFrequency, r)
			}
		}
		if math.IsNaN(c.HoldoutMAE) {
			c.Error = "predictions are not finite"
		} else if best < 0 || c.HoldoutMAE < art.Candidates[best].HoldoutMAE {
			best, bestModel = len(art.Candidates), m
		}
		art.Candidates = append(art.Candidates, c)
	}
	if best < 0 {
		return art, nil, fmt.Errorf("pipeline: no CLV model could be fitted: %+v", art.Candidates)
	}
	art.PurchaseModel = art.Candidates[best].Model

	x, tx, T, mx, err := btydSummary(nowRec)
	if err != nil {
		return art, nil, err
	}
	fx, ftx, fT, _ = observed(x, tx, T)
	now := models.CompressRF(fx, ftx, fT)
	m, err := models.FitPurchaseModelWith(art.PurchaseModel, now, models.FitOptions{Start: art.Candidates[best].Params})
	if err != nil {
		return art, nil, err
	}
	if math.Abs(m.ParamValues()[2]-1) < 1e-6 && art.PurchaseModel != "pareto-nbd" {
		return art, nil, errors.New("pipeline: the BG/NBD-family fit has a = 1, where expected purchases are undefined")
	}
	art.ParamNames, art.Params, art.LogLikelihood = m.ParamNames(), m.ParamValues(), models.TotalLogLik(m, now)
	if art.Spend, err = models.FitGammaGamma(x, mx); err != nil {
		return art, nil, err
	}
	art.Customers = len(fx)
	return art, bestModel, nil
}

// clvTracking adds the tracking plot to art: one warehouse pass, bucket by
// bucket, collects the repeat purchase days of the customers first seen by
// the validation cutoff, through the horizon after it (purchase rows with
// an amount ≥ 0; days, as the BTYD summaries count them).
func clvTracking(ctx context.Context, cfg Config, art *CLVArtifact, m models.PurchaseModel, validCut time.Time) error {
	_, info, err := warehouseVersion(cfg.Workdir)
	if err != nil {
		return err
	}
	lastFirst := dayOf(validCut.UnixMicro()).Unix() / 86400
	end := lastFirst + 1 + int64(cfg.Horizon)
	repeats, firsts := make([][]int64, info.Buckets), make([][]int64, info.Buckets)
	err = forEachBucket(ctx, cfg, "tracking", info.Buckets, func(b int) error {
		scan, err := datasets.OpenWarehouseBucketColumns(cfg.Workdir, b, datasets.ColCustomerID, datasets.ColTS, datasets.ColAmountCents)
		if err != nil {
			return err
		}
		defer scan.Close()
		repeats[b], firsts[b], err = features.CohortRepeatDays(scan.Chunks(), lastFirst, end)
		return err
	})
	if err != nil {
		return err
	}
	repeat, first := slices.Concat(repeats...), slices.Concat(firsts...)
	var start int64
	art.Tracking, start = trackingCurve(m, first, repeat, end, daysPerWeek)
	art.TrackingCalibrationWeeks = int(math.Ceil(float64(lastFirst+1-start) / daysPerWeek))
	return nil
}

// saveModel commits models/<kind>/<version>/ with model.json and metrics.json
// and moves the champion pointer. The version is the cutoff plus a hash of the
// model, so the same data and config give the same version.
func saveModel(workdir, kind string, cutoff time.Time, art any, version *string, metrics map[string]any, meta map[string]string, champion bool) (string, error) {
	*version = ""
	body, err := json.MarshalIndent(art, "", "  ")
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	h := sha256.Sum256(body)
	*version = strings.ReplaceAll(dateString(cutoff), "-", "") + "-" + hex.EncodeToString(h[:4])
	body, err = json.MarshalIndent(art, "", "  ")
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	mbody, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	dir := filepath.Join(workdir, datasets.ModelsDir, kind, *version)
	err = datasets.CommitFolder(dir, func(tmp string) (datasets.Manifest, error) {
		for name, b := range map[string][]byte{"model.json": body, "metrics.json": mbody} {
			if err := os.WriteFile(filepath.Join(tmp, name), append(b, '\n'), datasets.FileMode); err != nil {
				return datasets.Manifest{}, fmt.Errorf("pipeline: %w", err)
			}
		}
		m := map[string]string{"version": *version, "cutoff": dateString(cutoff)}
		for k, v := range meta {
			m[k] = v
		}
		return datasets.Manifest{Kind: "model/" + kind, Meta: m}, nil
	})
	if err != nil {
		return "", err
	}
	if !champion {
		return *version, nil
	}
	if err := datasets.WriteFileAtomic(filepath.Join(workdir, datasets.ModelsDir, kind, datasets.ChampionFile), []byte(*version+"\n")); err != nil {
		return "", err
	}
	return *version, nil
}

// loadChampion reads the champion of kind into art and returns its version.
func loadChampion(workdir, kind string, art any) (string, error) {
	b, err := os.ReadFile(filepath.Join(workdir, datasets.ModelsDir, kind, datasets.ChampionFile))
	if err != nil {
		return "", fmt.Errorf("pipeline: no %s model in %s (run churn train first): %w", kind, workdir, err)
	}
	v := strings.TrimSpace(string(b))
	dir := filepath.Join(workdir, datasets.ModelsDir, kind, v)
	if !datasets.Committed(dir) {
		return "", fmt.Errorf("pipeline: champion %s/%s is not a complete model folder", kind, v)
	}
	body, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	if err := json.Unmarshal(body, art); err != nil {
		return "", fmt.Errorf("pipeline: model %s/%s: %w", kind, v, err)
	}
	return v, nil
}
