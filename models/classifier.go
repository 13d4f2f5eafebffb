package models

import (
	"errors"
	"fmt"
	"math"
)

// Classifier is a churn model: a probability for a row of features, and
// per-feature contributions on the log-odds scale (exact for both models:
// the linear terms of a logistic regression, TreeSHAP for the GBDT).
type Classifier interface {
	Predict(x []float64) float64
	PredictAll(X []float64) []float64
	// Explain writes the contributions of x's features into dst and
	// returns the log-odds they start from: margin = base + Σ dst.
	Explain(dst, x []float64) (base float64)
}

var (
	_ Classifier = (*Logit)(nil)
	_ Classifier = (*GBDT)(nil)
)

// binaryLabels checks that y holds 0/1 labels of both classes and returns
// the number of positives; model names the caller in errors.
func binaryLabels(model string, y []float64) (float64, error) {
	pos := 0.0
	for _, v := range y {
		if v != 0 && v != 1 {
			return 0, fmt.Errorf("models: %s: label %v is not 0 or 1", model, v)
		}
		pos += v
	}
	if pos == 0 || pos == float64(len(y)) {
		return 0, fmt.Errorf("models: %s: labels have only one class; need churned and retained examples", model)
	}
	return pos, nil
}

// Explain implements Classifier: the log-odds are the intercept plus the
// standardised linear terms (missing values contribute 0).
func (m *Logit) Explain(dst, x []float64) float64 {
	m.Contributions(dst, x)
	return m.Intercept
}

// Explain implements Classifier with exact TreeSHAP (see Contributions).
func (m *GBDT) Explain(dst, x []float64) float64 { return m.Contributions(dst, x) }

// ExplainBatch is Explain for the rows of X (n×p) into dst (n×p), faster
// than row by row.
func (m *GBDT) ExplainBatch(dst, X []float64) float64 { return m.ContributionsBatch(dst, X) }

// Platt maps a classifier's probability p to a calibrated one,
// σ(A·logit(p) + B) (Platt 1999), fitted on held-out predictions.
type Platt struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

// FitPlatt fits A and B by maximum likelihood (Newton's method on the
// two-parameter logistic regression of y on logit(p)), with Platt's
// smoothed targets (N₊+1)/(N₊+2) and 1/(N₋+2) against overfitting.
func FitPlatt(p, y []float64) (Platt, error) {
	if len(p) != len(y) || len(p) == 0 {
		return Platt{}, errors.New("models: platt: need as many probabilities as labels")
	}
	var pos, neg float64
	for _, v := range y {
		if v == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return Platt{}, errors.New("models: platt: labels have only one class")
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	s := make([]float64, len(p))
	t := make([]float64, len(p))
	for i := range p {
		q := math.Min(math.Max(p[i], 1e-12), 1-1e-12)
		s[i] = math.Log(q / (1 - q))
		t[i] = lo
		if y[i] == 1 {
			t[i] = hi
		}
	}
	c := Platt{A: 1}
	for range 100 {
		var gA, gB, hAA, hAB, hBB float64
		for i := range s {
			q := sigmoid(c.A*s[i] + c.B)
			d, w := q-t[i], math.Max(q*(1-q), 1e-12)
			gA += d * s[i]
			gB += d
			hAA += w * s[i] * s[i]
			hAB += w * s[i]
			hBB += w
		}
		det := hAA*hBB - hAB*hAB
		if det <= 0 {
			break
		}
		dA, dB := (hBB*gA-hAB*gB)/det, (hAA*gB-hAB*gA)/det
		c.A -= dA
		c.B -= dB
		if math.Abs(dA)+math.Abs(dB) < 1e-10 {
			break
		}
	}
	return c, nil
}

// Apply returns the calibrated probability of p.
func (c Platt) Apply(p float64) float64 {
	q := math.Min(math.Max(p, 1e-12), 1-1e-12)
	return sigmoid(c.A*math.Log(q/(1-q)) + c.B)
}
