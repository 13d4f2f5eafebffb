package models

// This file is the only place that imports golearn: the baseline
// challenger, kept honest in the leaderboard. golearn's linear_models,
// ensemble and knn need cgo and its ensembles draw from the global RNG, so
// the adapter bags golearn's pure-Go CART trees itself, on bootstrap
// samples from a seeded source, and scores by their vote fractions.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/trees"
)

// GolearnConfig configures FitGolearn. Zero values take the defaults.
type GolearnConfig struct {
	Trees      int    // bagged trees [15]
	MaxDepth   int    // of each CART tree [8]
	SampleRows int    // bootstrap rows per tree, at most [20000]: golearn's CART sorts per node and slows down fast
	Seed       uint64 // source of the bootstrap samples
}

// GolearnForest is a bag of golearn CART classifiers.
type GolearnForest struct {
	Features []string                            `json:"features"`
	Means    []float64                           `json:"means"` // imputed for NaN: golearn has no missing values
	Trees    []*trees.CARTDecisionTreeClassifier `json:"trees"`
}

var _ Classifier = (*GolearnForest)(nil)

// FitGolearn fits the bag on X (n×p) and 0/1 labels y.
func FitGolearn(names []string, X, y []float64, cfg GolearnConfig) (*GolearnForest, error) {
	if cfg.Trees == 0 {
		cfg.Trees = 15
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = 8
	}
	if cfg.SampleRows == 0 {
		cfg.SampleRows = 20000
	}
	n, p := len(y), len(names)
	if n == 0 || len(X) != n*p {
		return nil, fmt.Errorf("models: golearn: X has %d values, want %d×%d", len(X), n, p)
	}
	if _, err := binaryLabels("golearn", y); err != nil {
		return nil, err
	}
	f := &GolearnForest{Features: names, Means: ColumnMeans(X, p)}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e995))
	m := min(n, cfg.SampleRows)
	rows := make([]int, m)
	for range cfg.Trees {
		for k := range rows {
			rows[k] = rng.IntN(n)
		}
		grid := f.grid(X, rows, y)
		t := trees.NewDecisionTreeClassifier("gini", int64(cfg.MaxDepth), []int64{0, 1})
		if err := t.Fit(grid); err != nil {
			return nil, fmt.Errorf("models: golearn: %w", err)
		}
		if t.RootNode == nil {
			return nil, errors.New("models: golearn: a tree came back empty")
		}
		f.Trees = append(f.Trees, t)
	}
	return f, nil
}

// grid builds golearn's instances from the given rows of X (and labels
// when y is not nil), with NaN replaced by the training means.
func (f *GolearnForest) grid(X []float64, rows []int, y []float64) *base.DenseInstances {
	p := len(f.Features)
	inst := base.NewDenseInstances()
	specs := make([]base.AttributeSpec, p)
	for j, name := range f.Features {
		specs[j] = inst.AddAttribute(base.NewFloatAttribute(name))
	}
	cls := base.NewFloatAttribute("churned")
	cs := inst.AddAttribute(cls)
	inst.AddClassAttribute(cls)
	inst.Extend(len(rows))
	for k, i := range rows {
		for j := range p {
			v := X[i*p+j]
			if math.IsNaN(v) {
				v = f.Means[j]
			}
			inst.Set(specs[j], k, base.PackFloatToBytes(v))
		}
		label := 0.0
		if y != nil {
			label = y[i]
		}
		inst.Set(cs, k, base.PackFloatToBytes(label))
	}
	return inst
}

// PredictAll returns the smoothed share of trees voting churn,
// (votes + ½)/(trees + 1), for every row of X.
func (f *GolearnForest) PredictAll(X []float64) []float64 {
	n := len(X) / len(f.Features)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	grid := f.grid(X, rows, nil)
	votes := make([]float64, n)
	for _, t := range f.Trees {
		for i, c := range t.Predict(grid) {
			votes[i] += float64(c)
		}
	}
	for i := range votes {
		votes[i] = (votes[i] + 0.5) / float64(len(f.Trees)+1)
	}
	return votes
}

// Predict is PredictAll for one row.
func (f *GolearnForest) Predict(x []float64) float64 { return f.PredictAll(x)[0] }

// Explain implements Classifier: golearn's trees give no per-feature terms.
func (f *GolearnForest) Explain(dst, x []float64) float64 {
	clear(dst)
	q := f.Predict(x)
	return math.Log(q / (1 - q))
}
