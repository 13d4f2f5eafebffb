package models

import (
	"cmp"
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma holds the parameters of the Gamma-Gamma spend model of Fader &
// Hardie (2013), "The Gamma-Gamma Model of Monetary Value": each transaction
// value z ~ Gamma(p, ν) with ν ~ Gamma(q, γ).
type GammaGamma struct {
	P      float64 `json:"p"`
	Q      float64 `json:"q"`
	Gamma  float64 `json:"gamma"`
	LogLik float64 `json:"log_likelihood"`
}

// LogLikelihood returns the log-likelihood of a customer with x > 0 repeat
// transactions of mean value mx > 0 (the form lifetimes and BTYD use).
func (m GammaGamma) LogLikelihood(x, mx float64) float64 {
	p, q, g := m.P, m.Q, m.Gamma
	a, _ := math.Lgamma(p*x + q)
	b, _ := math.Lgamma(p * x)
	c, _ := math.Lgamma(q)
	return a - b - c + q*math.Log(g) + (p*x-1)*math.Log(mx) + p*x*math.Log(x) - (p*x+q)*math.Log(g+mx*x)
}

// FitGammaGamma estimates p, q, γ by maximum likelihood from customers with
// x > 0 and mean repeat spend mx > 0; others are skipped.
func FitGammaGamma(x, mx []float64) (GammaGamma, error) {
	return FitGammaGammaWith(x, mx, FitOptions{})
}

// FitGammaGammaWith is FitGammaGamma with options (L2 penalty, start).
func FitGammaGammaWith(x, mx []float64, opt FitOptions) (GammaGamma, error) {
	// Repeat buyers with positive spend, as (x, m) pairs sorted by x (then m,
	// for a fixed summation order) so runs of equal x share terms.
	type pair struct{ x, m float64 }
	n := 0
	for i := range x {
		if x[i] > 0 && mx[i] > 0 {
			n++
		}
	}
	ps := make([]pair, 0, n)
	for i := range x {
		if x[i] > 0 && mx[i] > 0 {
			ps = append(ps, pair{x[i], mx[i]})
		}
	}
	if len(ps) < 3 {
		return GammaGamma{}, errors.New("models: gamma-gamma: fewer than 3 repeat buyers with positive spend")
	}
	xs, ms := make([]float64, len(ps)), make([]float64, len(ps))
	if !countingSortByX(ps, xs, ms, func(p pair) (float64, float64) { return p.x, p.m }) {
		slices.SortFunc(ps, func(a, b pair) int {
			if c := cmp.Compare(a.x, b.x); c != 0 {
				return c
			}
			return cmp.Compare(a.m, b.m)
		})
		for i, p := range ps {
			xs[i], ms[i] = p.x, p.m
		}
	}
	lms := make([]float64, len(ms)) // ln m, constant across evaluations
	for i, m := range ms {
		lms[i] = math.Log(m)
	}
	scratch := make([]float64, 3)
	nll := func(lp []float64) float64 { return ggNegLogLikGrad(xs, ms, lms, lp, scratch) }
	grad := func(g, lp []float64) float64 { return ggNegLogLikGrad(xs, ms, lms, lp, g) }
	meanM := 0.0
	for _, v := range ms {
		meanM += v
	}
	meanM /= float64(len(ms))
	best, err := minimizeLog(nll, grad, []float64{0, math.Log(2), math.Log(meanM)}, float64(len(xs)), opt)
	if err != nil {
		return GammaGamma{}, errors.Join(errors.New("models: gamma-gamma"), err)
	}
	m := GammaGamma{P: math.Exp(best[0]), Q: math.Exp(best[1]), Gamma: math.Exp(best[2])}
	m.LogLik = -nll(best)
	return m, nil
}

// ExpectedSpend returns E[Z | x, mx], the conditional expected transaction
// value (Fader & Hardie 2013, eq. 5); for x = 0 the population mean pγ/(q−1).
func (m GammaGamma) ExpectedSpend(x, mx float64) float64 {
	if x <= 0 {
		return m.P * m.Gamma / (m.Q - 1)
	}
	return m.P * (m.Gamma + x*mx) / (m.P*x + m.Q - 1)
}

// ggNegLogLikGrad returns the Gamma-Gamma negative log-likelihood at lp =
// (ln p, ln q, ln γ) and writes its gradient into g. Customers are processed
// in parallel fixed chunks; within a chunk, terms that depend only on x are
// computed once per run of equal x.
func ggNegLogLikGrad(xs, ms, lms, lp, g []float64) float64 {
	p, q, gm := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2])
	lgQ, _ := math.Lgamma(q)
	psiQ, logG := mathext.Digamma(q), math.Log(gm)
	clear(g)
	nll := chunkedSum(len(xs), 8192, 3, g, func(lo, hi int, cg []float64) float64 {
		var ll, dp, dq, dg float64
		prevX := math.NaN()
		var lgPxq, lgPx, psiPxq, psiPx, logX float64
		for i := lo; i < hi; i++ {
			x, m := xs[i], ms[i]
			if x != prevX {
				prevX = x
				lgPxq, _ = math.Lgamma(p*x + q)
				lgPx, _ = math.Lgamma(p * x)
				psiPxq, psiPx, logX = mathext.Digamma(p*x+q), mathext.Digamma(p*x), math.Log(x)
			}
			lm, lgm := lms[i], math.Log(gm+m*x)
			ll += lgPxq - lgPx - lgQ + q*logG + (p*x-1)*lm + p*x*logX - (p*x+q)*lgm
			dp += x*psiPxq - x*psiPx + x*lm + x*logX - x*lgm
			dq += psiPxq - psiQ + logG - lgm
			dg += q/gm - (p*x+q)/(gm+m*x)
		}
		cg[0], cg[1], cg[2] = -p*dp, -q*dq, -gm*dg
		return -ll
	})
	return nll
}

// countingSortByX writes items into xs, ms ordered by x, stably (input order
// within equal x), when every x is a whole number below 65536, as BTYD
// frequencies are; it reports false, writing nothing, otherwise.
func countingSortByX[T any](items []T, xs, ms []float64, get func(T) (float64, float64)) bool {
	maxX := 0
	for _, it := range items {
		x, _ := get(it)
		if x != math.Trunc(x) || x < 0 || x >= 65536 {
			return false
		}
		maxX = max(maxX, int(x))
	}
	start := make([]int, maxX+2)
	for _, it := range items {
		x, _ := get(it)
		start[int(x)+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	for _, it := range items {
		x, m := get(it)
		k := start[int(x)]
		xs[k], ms[k] = x, m
		start[int(x)]++
	}
	return true
}
