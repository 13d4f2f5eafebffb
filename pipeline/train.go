package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// Model kinds: folder names under <workdir>/models.
const (
	KindChurn = "churn"
	KindCLV   = "clv"
)

// ChurnArtifact is what train stores for the churn classifier.
type ChurnArtifact struct {
	Kind          string         `json:"kind"` // "logit"
	Version       string         `json:"version"`
	TrainCutoff   string         `json:"trained_cutoff"`   // labels from (cutoff, cutoff+horizon]
	ValidatedOn   string         `json:"validated_cutoff"` // out-of-time validation snapshot
	RefitOn       string         `json:"refit_cutoff"`     // the final model's training snapshot
	HorizonDays   int            `json:"horizon_days"`
	Logit         *models.Logit  `json:"logit"`
	Validation    models.Metrics `json:"validation"`     // model fitted on TrainCutoff, judged on ValidatedOn
	TrainMetrics  models.Metrics `json:"train"`          // in-sample, same model
	TrainExamples int            `json:"train_examples"` // rows of the final fit
	// Directions holds, per feature, the sign of its correlation with churn in
	// the final training set. A feature is offered as a reason only when the
	// model's coefficient has the same sign, so collinearity artefacts
	// ("25 orders in total" raising risk) never reach a CRM user.
	Directions []float64 `json:"directions"`
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
	Validation               models.Metrics
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
	validCut := cutoff.AddDate(0, 0, -cfg.Horizon)
	trainCut := validCut.AddDate(0, 0, -cfg.Horizon)
	mem := memory.DefaultAllocator
	load := func(c time.Time, wantLabels bool) (arrow.RecordBatch, error) {
		fr, err := snapshot(ctx, cfg, c, cutoff)
		if err != nil {
			return nil, err
		}
		if wantLabels && !fr.Labelled {
			return nil, fmt.Errorf("pipeline: train: snapshot %s has no labels: data must reach %s", fr.Cutoff, dateString(c.AddDate(0, 0, cfg.Horizon)))
		}
		return readSnapshot(ctx, fr.Dir, mem)
	}
	trainRec, err := load(trainCut, true)
	if err != nil {
		return TrainResult{}, fmt.Errorf("pipeline: train needs 2×horizon (%d days) of history before %s: %w", 2*cfg.Horizon, dateString(cutoff), err)
	}
	defer trainRec.Release()
	validRec, err := load(validCut, true)
	if err != nil {
		return TrainResult{}, err
	}
	defer validRec.Release()
	nowRec, err := load(cutoff, false)
	if err != nil {
		return TrainResult{}, err
	}
	defer nowRec.Release()

	Xtr, ytr, err := designMatrix(trainRec, true)
	if err != nil {
		return TrainResult{}, err
	}
	Xva, yva, err := designMatrix(validRec, true)
	if err != nil {
		return TrainResult{}, err
	}
	lcfg := models.LogitConfig{Lambda: cfg.Lambda}
	m1, err := models.FitLogit(features.ModelColumns, Xtr, ytr, lcfg)
	if err != nil {
		return TrainResult{}, err
	}
	art := ChurnArtifact{Kind: "logit", TrainCutoff: dateString(trainCut), ValidatedOn: dateString(validCut),
		RefitOn: dateString(validCut), HorizonDays: cfg.Horizon,
		Validation: models.Evaluate(m1.PredictAll(Xva), yva), TrainMetrics: models.Evaluate(m1.PredictAll(Xtr), ytr)}
	art.Logit, err = models.FitLogit(features.ModelColumns, Xva, yva, lcfg)
	if err != nil {
		return TrainResult{}, err
	}
	art.TrainExamples = len(yva)
	art.Directions = directions(Xva, yva, len(features.ModelColumns))

	clvArt, err := trainCLV(validRec, nowRec, cfg.Horizon)
	if err != nil {
		return TrainResult{}, err
	}
	clvArt.Cutoff = dateString(cutoff)

	res := TrainResult{Validation: art.Validation}
	if res.ChurnVersion, err = saveModel(cfg.Workdir, KindChurn, cutoff, &art, &art.Version, map[string]any{"metrics": art.Validation, "train": art.TrainMetrics}, map[string]string{"model": art.Kind}); err != nil {
		return res, err
	}
	if res.CLVVersion, err = saveModel(cfg.Workdir, KindCLV, cutoff, &clvArt, &clvArt.Version, map[string]any{"purchase_model": clvArt.PurchaseModel, "log_likelihood": clvArt.LogLikelihood, "candidates": clvArt.Candidates, "gamma_gamma_log_likelihood": clvArt.Spend.LogLik}, map[string]string{"purchase_model": clvArt.PurchaseModel, "selected_by": clvArt.SelectedBy}); err != nil {
		return res, err
	}
	cfg.logStage("train", int64(len(ytr)+len(yva)), start, "churn_model", res.ChurnVersion, "clv_model", res.CLVVersion, "purchase_model", clvArt.PurchaseModel,
		"validation_auc", round4(art.Validation.AUC), "validation_pr_auc", round4(art.Validation.PRAUC))
	return res, nil
}

// directions returns the sign (−1, 0, +1) of the correlation of each column
// of X (n×p) with y, ignoring missing values.
func directions(X, y []float64, p int) []float64 {
	out := make([]float64, p)
	for j := 0; j < p; j++ {
		var n, sx, sy, sxy, sxx float64
		for i := range y {
			v := X[i*p+j]
			if math.IsNaN(v) {
				continue
			}
			n++
			sx += v
			sy += y[i]
			sxy += v * y[i]
			sxx += v * v
		}
		if n < 2 {
			continue
		}
		cov := sxy/n - sx/n*sy/n
		if sxx/n-(sx/n)*(sx/n) > 0 && cov != 0 {
			out[j] = math.Copysign(1, cov)
		}
	}
	return out
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func readSnapshot(ctx context.Context, dir string, mem memory.Allocator) (arrow.RecordBatch, error) {
	rec, _, err := datasets.ReadSnapshot(ctx, dir, mem)
	return rec, err
}

// designMatrix returns the model columns of rec as an n×p row-major matrix
// and, when labelled, the churn labels (1 = churned).
func designMatrix(rec arrow.RecordBatch, labelled bool) (X, y []float64, err error) {
	n, p := int(rec.NumRows()), len(features.ModelColumns)
	X = make([]float64, n*p)
	for j, name := range features.ModelColumns {
		col, err := features.Float64s(rec, name)
		if err != nil {
			return nil, nil, err
		}
		for i, v := range col {
			X[i*p+j] = v
		}
	}
	if labelled {
		if y, err = features.Float64s(rec, features.LabelChurned); err != nil {
			return nil, nil, err
		}
	}
	return X, y, nil
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

// trainCLV picks the purchase model with the smallest per-customer error in
// predicting the purchase days of the horizon after the validation snapshot,
// refits it and Gamma-Gamma on the newest snapshot, and records every candidate.
func trainCLV(validRec, nowRec arrow.RecordBatch, horizonDays int) (CLVArtifact, error) {
	art := CLVArtifact{Kind: "btyd+gamma-gamma", TimeUnit: "week",
		SelectedBy: fmt.Sprintf("smallest mean absolute error of predicted purchase days over the %d days after the validation snapshot", horizonDays)}
	x, tx, T, _, err := btydSummary(validRec)
	if err != nil {
		return art, err
	}
	future, err := features.Float64s(validRec, features.LabelFutureDays)
	if err != nil {
		return art, err
	}
	fx, ftx, fT, idx := observed(x, tx, T)
	groups := models.CompressRF(fx, ftx, fT)
	h := float64(horizonDays) / daysPerWeek
	best := -1
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
		for k, i := range idx {
			pred := m.ExpectedPurchases(h, fx[k], ftx[k], fT[k])
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
			best = len(art.Candidates)
		}
		art.Candidates = append(art.Candidates, c)
	}
	if best < 0 {
		return art, fmt.Errorf("pipeline: no CLV model could be fitted: %+v", art.Candidates)
	}
	art.PurchaseModel = art.Candidates[best].Model

	x, tx, T, mx, err := btydSummary(nowRec)
	if err != nil {
		return art, err
	}
	fx, ftx, fT, _ = observed(x, tx, T)
	now := models.CompressRF(fx, ftx, fT)
	m, err := models.FitPurchaseModelWith(art.PurchaseModel, now, models.FitOptions{Start: art.Candidates[best].Params})
	if err != nil {
		return art, err
	}
	if math.Abs(m.ParamValues()[2]-1) < 1e-6 && art.PurchaseModel != "pareto-nbd" {
		return art, errors.New("pipeline: the BG/NBD-family fit has a = 1, where expected purchases are undefined")
	}
	art.ParamNames, art.Params, art.LogLikelihood = m.ParamNames(), m.ParamValues(), models.TotalLogLik(m, now)
	if art.Spend, err = models.FitGammaGamma(x, mx); err != nil {
		return art, err
	}
	art.Customers = len(fx)
	return art, nil
}

// saveModel commits models/<kind>/<version>/ with model.json and metrics.json
// and moves the champion pointer. The version is the cutoff plus a hash of the
// model, so the same data and config give the same version.
func saveModel(workdir, kind string, cutoff time.Time, art any, version *string, metrics map[string]any, meta map[string]string) (string, error) {
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
			if err := os.WriteFile(filepath.Join(tmp, name), append(b, '\n'), 0o644); err != nil {
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
