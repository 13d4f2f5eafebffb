package models

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"
)

// ProbNoPurchase returns P(Y(t) = 0 | x, t_x, T): the probability that a
// customer makes no purchase in the next t time units.
//
// BG/NBD and MBG/NBD drop customers out only right after a purchase, so a
// customer alive at T (posterior λ ~ Gamma(r+x, α+T)) makes none with
// probability ((α+T)/(α+T+t))^(r+x) (Fader, Hardie & Lee 2005, §3):
// P0 = 1 − P(alive) + P(alive)·((α+T)/(α+T+t))^(r+x).
//
// Pareto/NBD: given alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T)
// independently (Schmittlein et al. 1987), and no purchase happens if none
// occurs before min(t, death):
// P0|alive = (A/(A+t))^R (B/(B+t))^s + ∫_0^t s/(B+u)·(B/(B+u))^s·(A/(A+u))^R du
// with A = α+T, R = r+x, B = β+T; the integral is taken by Gauss-Legendre on
// geometrically shrinking panels towards 0, where it is steepest.
// BG/BB is not supported.
func ProbNoPurchase(m PurchaseModel, t, x, tx, T float64) (float64, error) {
	if t <= 0 {
		return 1, nil
	}
	pa := m.PAlive(x, tx, T)
	switch m := m.(type) {
	case BGNBD:
		return 1 - pa + pa*math.Exp((m.R+x)*math.Log((m.Alpha+T)/(m.Alpha+T+t))), nil
	case MBGNBD:
		return 1 - pa + pa*math.Exp((m.R+x)*math.Log((m.Alpha+T)/(m.Alpha+T+t))), nil
	case ParetoNBD:
		A, R, B, s := m.Alpha+T, m.R+x, m.Beta+T, m.S
		surv := func(u float64) float64 { return math.Exp(R*math.Log(A/(A+u)) + s*math.Log(B/(B+u))) }
		f := func(u float64) float64 { return s / (B + u) * surv(u) }
		integral, hi := 0.0, t
		for range 48 {
			lo := hi / 2
			integral += quad.Fixed(f, lo, hi, 8, nil, 0)
			hi = lo
		}
		integral += quad.Fixed(f, 0, hi, 8, nil, 0)
		return 1 - pa + pa*(surv(t)+integral), nil
	}
	return 0, fmt.Errorf("models: P(no purchase) is not available for %s", m.Name())
}

// MedianTimeToNextPurchase returns the t at which P(Y(t) ≥ 1) reaches one
// half, searched up to limit; ok is false when that never happens within
// limit (P(alive) below one half, or a very slow buyer).
func MedianTimeToNextPurchase(m PurchaseModel, x, tx, T, limit float64) (t float64, ok bool, err error) {
	p, err := ProbNoPurchase(m, limit, x, tx, T)
	if err != nil || p > 0.5 {
		return 0, false, err
	}
	lo, hi := 0.0, limit
	for range 60 {
		mid := (lo + hi) / 2
		if p, _ := ProbNoPurchase(m, mid, x, tx, T); p > 0.5 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, true, nil
}
