package models

import (
	"fmt"
	"math"
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
// BG/BB: no purchase in the next ⌊t⌋ opportunities (probPurchases with k = 0).
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
		return 1 - pa + pa*m.noPurchaseIfAlive(t, x, T), nil
	case BGBB:
		return m.probPurchases(0, t, x, tx, T), nil
	}
	return 0, fmt.Errorf("models: P(no purchase) is not available for %s", m.Name())
}

// noPurchaseIfAlive is Pareto/NBD's P0|alive (see ProbNoPurchase), which
// depends on x and T but not on t_x.
func (m ParetoNBD) noPurchaseIfAlive(t, x, T float64) float64 {
	q := m.alive(x, T)
	return q.surv(t) + panelIntegralWith(q.gl8Death, t)
}

// gl8Death is gl8 of s/(B+u)·surv(u) over [a, b]: each node's value
// rounded before its weight multiplies it, as gl8 does, with the surv
// values from survNodes.
func (q paretoAlive) gl8Death(a, b float64) float64 {
	var u, sv [8]float64
	h := q.survNodes(a, b, &u, &sv)
	sum := 0.0
	for i := range u {
		sum += glWeights[i] * (q.s / (q.B + u[i]) * sv[i])
	}
	return h * sum
}

// ProbNoPurchaseAll writes ProbNoPurchase(m, t, x[i], tx[i], T[i]) to
// dst[i] for every customer, on every core. Pareto/NBD's integral depends
// on x and T alone, so it is taken once for each distinct (x, T): customers
// who differ only in t_x share it. The values are ProbNoPurchase's, bit for
// bit.
func ProbNoPurchaseAll(dst []float64, m PurchaseModel, t float64, x, tx, T []float64) error {
	switch m.(type) {
	case BGNBD, MBGNBD, ParetoNBD, BGBB:
	default:
		return fmt.Errorf("models: P(no purchase) is not available for %s", m.Name())
	}
	pn, ok := m.(ParetoNBD)
	if !ok || t <= 0 {
		parallelFor(len(dst), func(i int) { dst[i], _ = ProbNoPurchase(m, t, x[i], tx[i], T[i]) }) // a supported model: no error
		return nil
	}
	idx, keys := groupRF(x, make([]float64, len(x)), T) // the distinct (x, T)
	alive := make([]float64, len(keys))
	parallelFor(len(keys), func(g int) { alive[g] = pn.noPurchaseIfAlive(t, keys[g].X, keys[g].T) })
	parallelFor(len(dst), func(i int) {
		pa := pn.PAlive(x[i], tx[i], T[i])
		dst[i] = 1 - pa + pa*alive[idx[i]]
	})
	return nil
}

// probPurchases returns P(k transactions in the next ⌊nStar⌋ opportunities
// | x, t_x, n). Alive at opportunity n+1 (probability PAlive), a customer has
// p ~ Beta(α+x, β+n−x) and θ ~ Beta(γ, δ+n+1); they stay alive for
// L = l opportunities with probability (1−θ)^(l−1)θ (l < n*) or (1−θ)^(n*−1)
// (l = n*), and buy Binomial(L, p) times (Fader, Hardie & Shang 2010's process).
func (m BGBB) probPurchases(k int, nStar, x, tx, n float64) float64 {
	ns := math.Floor(nStar)
	if ns < 1 {
		if k == 0 {
			return 1
		}
		return 0
	}
	pa := m.PAlive(x, tx, n)
	ap, bp := m.Alpha+x, m.Beta+n-x
	dp := m.Delta + n + 1
	kf := float64(k)
	lnChoose := func(l, j float64) float64 {
		a, _ := math.Lgamma(l + 1)
		b, _ := math.Lgamma(j + 1)
		c, _ := math.Lgamma(l - j + 1)
		return a - b - c
	}
	alive := 0.0
	for l := math.Max(kf, 1); l <= ns; l++ {
		var lnL float64 // ln P(L = l)
		if l < ns {
			lnL = lnBeta(m.Gamma+1, dp+l-1) - lnBeta(m.Gamma, dp)
		} else {
			lnL = lnBeta(m.Gamma, dp+l-1) - lnBeta(m.Gamma, dp)
		}
		alive += math.Exp(lnL + lnChoose(l, kf) + lnBeta(ap+kf, bp+l-kf) - lnBeta(ap, bp))
	}
	if k == 0 {
		return 1 - pa + pa*alive
	}
	return pa * alive
}

// ProbPurchases returns P(Y(t) = k | x, t_x, T), the probability of exactly
// k purchases in the next t time units.
//
// BG/NBD and MBG/NBD: a customer alive at T has λ ~ Gamma(R = r+x, A = α+T)
// and p ~ Beta(a, b+x) (MBG/NBD: Beta(a, b+x+1), one more survived chance).
// Purchases N(t) are then negative binomial, and Y = k ≥ 1 when at least k
// happen and the customer drops out right after the k-th, or exactly k
// happen and the customer survives them:
// P(Y=k | alive) = P(N≥k)·B(a+1, b'+k−1)/B(a, b') + P(N=k)·B(a, b'+k)/B(a, b').
//
// Pareto/NBD: with the NB(R, A/(A+u)) pmf in place of (A/(A+u))^R in the
// integral of ProbNoPurchase (death at u < t ends purchasing).
// Dead customers make none: P(Y=0) adds 1 − P(alive).
func ProbPurchases(m PurchaseModel, k int, t, x, tx, T float64) (float64, error) {
	if k < 0 {
		return 0, nil
	}
	if k == 0 {
		return ProbNoPurchase(m, t, x, tx, T)
	}
	if t <= 0 {
		return 0, nil
	}
	pa := m.PAlive(x, tx, T)
	kf := float64(k)
	// lnNB returns ln P(N(u) = j) for λ ~ Gamma(R, A).
	lnNB := func(j, R, A, u float64) float64 {
		a, _ := math.Lgamma(R + j)
		b, _ := math.Lgamma(R)
		c, _ := math.Lgamma(j + 1)
		return a - b - c + R*math.Log(A/(A+u)) + j*math.Log(u/(A+u))
	}
	bg := func(r, alpha, a, b float64) float64 {
		R, A := r+x, alpha+T
		below := 0.0 // P(N < k)
		for j := 0.0; j < kf; j++ {
			below += math.Exp(lnNB(j, R, A, t))
		}
		atK := math.Exp(lnNB(kf, R, A, t))
		drop := math.Exp(lnBeta(a+1, b+kf-1) - lnBeta(a, b))
		survive := math.Exp(lnBeta(a, b+kf) - lnBeta(a, b))
		return pa * (math.Max(0, 1-below)*drop + atK*survive)
	}
	switch m := m.(type) {
	case BGBB:
		return m.probPurchases(k, t, x, tx, T), nil
	case BGNBD:
		return bg(m.R, m.Alpha, m.A, m.B+x), nil
	case MBGNBD:
		return bg(m.R, m.Alpha, m.A, m.B+x+1), nil
	case ParetoNBD:
		A, R, B, s := m.Alpha+T, m.R+x, m.Beta+T, m.S
		f := func(u float64) float64 {
			return s / (B + u) * math.Exp(s*math.Log(B/(B+u))+lnNB(kf, R, A, u))
		}
		return pa * (math.Exp(s*math.Log(B/(B+t))+lnNB(kf, R, A, t)) + panelIntegral(f, t)), nil
	}
	return 0, fmt.Errorf("models: P(k purchases) is not available for %s", m.Name())
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

// panelIntegral integrates f over [0, t] by 8-point Gauss-Legendre on panels
// that halve towards 0, where the Pareto/NBD integrands are steepest.
func panelIntegral(f func(float64) float64, t float64) float64 {
	return panelIntegralWith(func(a, b float64) float64 { return gl8(f, a, b) }, t)
}

// panelIntegralWith is panelIntegral with rule(a, b) the integral over a
// panel.
func panelIntegralWith(rule func(a, b float64) float64, t float64) float64 {
	integral, hi := 0.0, t
	for range 48 {
		lo := hi / 2
		integral += rule(lo, hi)
		hi = lo
	}
	return integral + rule(0, hi)
}
