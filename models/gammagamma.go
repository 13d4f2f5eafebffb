package models

import (
	"errors"
	"math"

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
	var xs, ms []float64
	for i := range x {
		if x[i] > 0 && mx[i] > 0 {
			xs, ms = append(xs, x[i]), append(ms, mx[i])
		}
	}
	if len(xs) < 3 {
		return GammaGamma{}, errors.New("models: gamma-gamma: fewer than 3 repeat buyers with positive spend")
	}
	nll := func(lp []float64) float64 {
		m := GammaGamma{P: math.Exp(lp[0]), Q: math.Exp(lp[1]), Gamma: math.Exp(lp[2])}
		s := 0.0
		for i := range xs {
			s -= m.LogLikelihood(xs[i], ms[i])
		}
		return s
	}
	grad := func(g, lp []float64) { ggNegLogLikGrad(xs, ms, lp, g) }
	meanM := 0.0
	for _, v := range ms {
		meanM += v
	}
	meanM /= float64(len(ms))
	best, err := minimizeLog(nll, grad, []float64{0, math.Log(2), math.Log(meanM)})
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

// ggNegLogLikGrad writes into g the gradient of the Gamma-Gamma negative
// log-likelihood with respect to (log p, log q, log γ) at lp.
func ggNegLogLikGrad(xs, ms, lp, g []float64) {
	p, q, gm := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2])
	psiQ := mathext.Digamma(q)
	var dp, dq, dg float64
	for i := range xs {
		x, m := xs[i], ms[i]
		psiPxq, psiPx := mathext.Digamma(p*x+q), mathext.Digamma(p*x)
		lgm := math.Log(gm + m*x)
		dp += x*psiPxq - x*psiPx + x*math.Log(m) + x*math.Log(x) - x*lgm
		dq += psiPxq - psiQ + math.Log(gm) - lgm
		dg += q/gm - (p*x+q)/(gm+m*x)
	}
	g[0], g[1], g[2] = -p*dp, -q*dq, -gm*dg
}
