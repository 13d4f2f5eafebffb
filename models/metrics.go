package models

import (
	"math"
	"sort"
)

// Metrics are out-of-sample classification metrics of probabilities p for labels y.
type Metrics struct {
	N            int     `json:"n"`
	PositiveRate float64 `json:"positive_rate"`
	AUC          float64 `json:"roc_auc"`
	PRAUC        float64 `json:"pr_auc"` // average precision
	Brier        float64 `json:"brier"`
	LogLoss      float64 `json:"log_loss"`
	LiftTop10    float64 `json:"lift_top_decile"`
}

// Evaluate computes Metrics. Ties in p are handled by mid-ranks for AUC and
// by whole tie groups for average precision, so the result does not depend on
// input order.
func Evaluate(p, y []float64) Metrics {
	n := len(p)
	m := Metrics{N: n}
	if n == 0 {
		return m
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	pos := 0.0
	for i := range y {
		pos += y[i]
		m.Brier += (p[i] - y[i]) * (p[i] - y[i])
		q := math.Min(math.Max(p[i], 1e-15), 1-1e-15)
		m.LogLoss -= y[i]*math.Log(q) + (1-y[i])*math.Log(1-q)
	}
	m.Brier /= float64(n)
	m.LogLoss /= float64(n)
	m.PositiveRate = pos / float64(n)
	neg := float64(n) - pos
	// AUC by the Mann-Whitney statistic over tie groups (descending scores).
	var tp, fp, aucSum, ap float64
	for i := 0; i < n; {
		j := i
		var gp, gn float64
		for j < n && p[idx[j]] == p[idx[i]] {
			gp += y[idx[j]]
			j++
		}
		gn = float64(j-i) - gp
		aucSum += gn * (tp + gp/2) // positives ranked above these negatives
		tp += gp
		fp += gn
		if gp > 0 {
			ap += gp / pos * tp / (tp + fp)
		}
		i = j
	}
	if pos > 0 && neg > 0 {
		m.AUC = aucSum / (pos * neg)
		m.PRAUC = ap
	}
	k := int(math.Ceil(float64(n) / 10))
	top := 0.0
	for _, i := range idx[:k] {
		top += y[i]
	}
	if pos > 0 {
		m.LiftTop10 = (top / float64(k)) / m.PositiveRate
	}
	return m
}
