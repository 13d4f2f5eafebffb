package models

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// MBGNBD holds the parameters of the modified BG/NBD model of Batislam,
// Denizel & Filiztekin (2007): as BG/NBD, but a customer may also drop out
// right after the first purchase, so one-time buyers are not assumed alive.
type MBGNBD struct {
	R      float64 `json:"r"`
	Alpha  float64 `json:"alpha"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	LogLik float64 `json:"log_likelihood"`
}

// FitMBGNBD estimates MBG/NBD parameters by maximum likelihood (analytic gradient).
func FitMBGNBD(groups []RFGroup) (MBGNBD, error) { return fitMBGNBD(groups, FitOptions{}) }

func fitMBGNBD(groups []RFGroup, opt FitOptions) (MBGNBD, error) {
	p, ll, err := fitBGFamily(groups, true, opt)
	if err != nil {
		return MBGNBD{}, fmt.Errorf("models: mbgnbd: %w", err)
	}
	return MBGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3], LogLik: ll}, nil
}

// LogLikelihood returns the log-likelihood of one customer.
func (m MBGNBD) LogLikelihood(x, tx, T float64) float64 {
	return bgFamilyLogLikGrad(m.R, m.Alpha, m.A, m.B, true, []RFGroup{{X: x, Tx: tx, T: T, Weight: 1}}, nil)
}

// PAlive returns P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)).
func (m MBGNBD) PAlive(x, tx, T float64) float64 {
	lt := math.Log(m.A) - math.Log(m.B+x) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(lt))
}

// ExpectedPurchases returns E[Y(t) | x, t_x, T] (Batislam et al. 2007, eq. 12;
// the form lifetimes' ModifiedBetaGeoFitter uses). It needs a ≠ 1.
func (m MBGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return expectedPurchases(m, t, x, tx, T)
}

// expectedIfAliveMulti writes E[Y(t) | alive at T, x, T]: Batislam et al.
// eq. 12 is P(alive) times (a+b+x)/(a−1) · (1 − (1−z)^(r+x)
// ₂F₁(r+x, b+x+1; a+b+x; z)), z = t/(α+T+t), via Euler's transformation.
func (m MBGNBD) expectedIfAliveMulti(dst, ts []float64, x, T float64) {
	bgFamilyIfAlive(dst, ts, m.Alpha, T, m.A, m.R+x, m.B+x+1, m.A+m.B+x)
}

// ExpectedPurchasesPopulation returns E[X(t)] for a new customer (Batislam et al. 2007, eq. 8).
func (m MBGNBD) ExpectedPurchasesPopulation(t float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	hyp := mathext.Hypergeo(r, b+1, a+b, t/(alpha+t))
	return b / (a - 1) * (1 - math.Pow(alpha/(alpha+t), r)*hyp)
}
