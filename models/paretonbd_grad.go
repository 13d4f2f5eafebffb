package models

import "math"

// hyp2F1a1Grad returns ln F and the partial derivatives of ln F with respect
// to a, b and z, for F = ₂F₁(a, b; a+1; z), from the series
// F = Σ_k T_k with T_k = a/(a+k) · (b)_k/k! · z^k, whose terms give
// ∂ln T_k/∂a = k/(a(a+k)), ∂ln T_k/∂b = Σ_{j<k} 1/(b+j) and ∂ln T_k/∂z = k/z.
// Sums are rescaled together, as in log2F1a1.
func hyp2F1a1Grad(a, b, z float64) (lnF, dA, dB, dZ float64) {
	if z == 0 {
		return 0, 0, 0, a * b / (a + 1)
	}
	const big, bigLog = 0x1p900, 900 * math.Ln2
	term, sum, scale := 1.0, 1.0, 0.0
	var sa, sb, sz, h float64
	for k := 0.0; k < 1e7; k++ {
		kk := k + 1
		ratio := (a + k) * (b + k) * z / ((a + kk) * kk)
		h += 1 / (b + k)
		term *= ratio
		sum += term
		sa += term * kk / (a + kk) // × 1/a after the loop
		sb += term * h
		sz += term * kk // × 1/z after the loop
		if sum > big {
			sum, term, sa, sb, sz = sum/big, term/big, sa/big, sb/big, sz/big
			scale += bigLog
		}
		// Tail bound for the k-weighted sums (the heaviest weights):
		// Σ_{j>k} T_j·j ≤ T_k·ρ/(1−ρ)·(k + 1/(1−ρ)).
		// The bound is at least term·ratio·kk (1/(1−ratio) ≥ 1 for
		// 0 ≤ ratio < 1): while that is twice 1e-16·sum, so is the bound,
		// and its two divisions are skipped — the loop stops at the same
		// term as with the bound every time.
		if ratio < 1 && (ratio < 0 || term*ratio*kk < 2e-16*sum) {
			tail := term * ratio / (1 - ratio) * (kk + 1/(1-ratio))
			if tail < 1e-16*sum && tail*h < 1e-16*(sb+sum) {
				break
			}
		}
	}
	return math.Log(sum) + scale, sa / (a * sum), sb / sum, sz / (z * sum)
}

// logLikGrad returns the Pareto/NBD log-likelihood of one customer and adds
// weight × its gradient with respect to (ln r, ln α, ln s, ln β) to grad.
// It differentiates LL = A₁ + ln(e^{L₁} + e^{L₂}) with
// A₁ = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β, L₁ = −(r+x)ln(α+T) − s ln(β+T),
// L₂ = ln s − ln(r+s+x) + ln A₀, and A₀ = P₁ − P₂ with
// P_i = ₂F₁(a, b; a+1; z_i)/(m+t_i)^a, a = r+s+x, m = max(α, β),
// z_i = |α−β|/(m+t_i), t₁ = t_x, t₂ = T (see logA0).
//
// pre, when set, holds the series of (x, t_x) and (x, T) at m's parameters
// (paretoSeries); a series not in it is summed here. k holds what depends
// on the parameters alone (m.consts).
func (m ParetoNBD) logLikGrad(x, tx, T, weight float64, lgRx, psiRx float64, grad []float64, pre [2]*seriesVal, k *paretoConsts) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	a := r + s + x
	hi, lo, b := alpha, beta, s+1
	alphaLow := alpha < beta
	if alphaLow {
		hi, lo, b = beta, alpha, r+x
	}
	// p_i = ln P_i and its derivatives in (r, α, s, β).
	var p [2]float64
	var dp [2][4]float64
	useQuad := seriesTerms(b, (hi-lo)/(hi+tx)) > maxSeriesTerms
	for i, t := range [2]float64{tx, T} {
		if useQuad {
			break
		}
		z := (hi - lo) / (hi + t)
		var lnF, fa, fb, fz, lmt float64
		switch {
		case pre[i] != nil && pre[i].ok:
			lnF, fa, fb, fz, lmt = pre[i].lnF, pre[i].fa, pre[i].fb, pre[i].fz, pre[i].lmt
		case grad == nil: // value only: the cheaper series
			lnF, lmt = log2F1a1(a, b, z), math.Log(hi+t)
		default:
			lnF, fa, fb, fz = hyp2F1a1Grad(a, b, z)
			lmt = math.Log(hi + t)
		}
		p[i] = lnF - a*lmt
		if grad == nil {
			continue
		}
		// ∂a/∂(r, α, s, β) = (1, 0, 1, 0); ∂b: r if α < β else s; ∂z and ∂m as in the doc comment.
		var dz, dm [4]float64
		if alphaLow { // m = β, z = (β−α)/(β+t)
			dz[1] = -1 / (beta + t)
			dz[3] = (alpha + t) / ((beta + t) * (beta + t))
			dm[3] = 1
		} else { // m = α, z = (α−β)/(α+t)
			dz[1] = (beta + t) / ((alpha + t) * (alpha + t))
			dz[3] = -1 / (alpha + t)
			dm[1] = 1
		}
		db := [4]float64{0, 0, 1, 0}
		if alphaLow {
			db = [4]float64{1, 0, 0, 0}
		}
		da := [4]float64{1, 0, 1, 0}
		for j := range 4 {
			dp[i][j] = fa*da[j] + fb*db[j] + fz*dz[j] - da[j]*lmt - a*dm[j]/(hi+t)
		}
	}
	logA0 := math.Inf(-1)
	var dlnA0 [4]float64
	if useQuad {
		logA0, dlnA0 = m.logA0Quad(x, tx, T, grad != nil)
	} else if p[1] < p[0] {
		e := math.Exp(p[1] - p[0])
		logA0 = p[0] + math.Log1p(-e)
		for j := 0; grad != nil && j < 4; j++ {
			dlnA0[j] = (dp[0][j] - e*dp[1][j]) / (1 - e)
		}
	}
	lnAT, lnBT := math.Log(alpha+T), math.Log(beta+T)
	a1 := lgRx - k.lgR + r*k.lnAlpha + s*k.lnBeta
	l1 := -(r+x)*lnAT - s*lnBT
	l2 := k.lnS - math.Log(a) + logA0
	tot := logAddExp(l1, l2)
	ll := a1 + tot
	if grad == nil {
		return ll
	}
	w1 := math.Exp(l1 - tot)
	w2 := 1 - w1
	dA1 := [4]float64{psiRx - k.psiR + k.lnAlpha, r / alpha, k.lnBeta, s / beta}
	dL1 := [4]float64{-lnAT, -(r + x) / (alpha + T), -lnBT, -s / (beta + T)}
	dL2 := [4]float64{-1/a + dlnA0[0], dlnA0[1], 1/s - 1/a + dlnA0[2], dlnA0[3]}
	theta := [4]float64{r, alpha, s, beta}
	for j := range 4 {
		g := dA1[j] + w1*dL1[j]
		if w2 > 0 {
			g += w2 * dL2[j]
		}
		grad[j] += weight * theta[j] * g
	}
	return ll
}

// paretoSeries are the distinct (x, t) of a fit's groups, t being a
// group's t_x or T: the hypergeometric series P_i of logLikGrad depend on a
// customer's x and one of its times only, so customers who differ in the
// other share it. Summed once per (x, t) and evaluation, they are the same
// numbers as summed per group, bit for bit.
type paretoSeries struct {
	x, t []float64
	at   [][2]int32 // group i's (x, t_x) and (x, T)
}

// seriesVal is the series of one (x, t): ln F and, for a gradient, its
// partials; ok is false for series left to quadrature (too many terms).
type seriesVal struct {
	lnF, fa, fb, fz float64
	lmt             float64 // ln(max(α, β) + t)
	ok              bool
}

// paretoConsts are the terms of logLikGrad that depend on the parameters
// alone, computed once per evaluation.
type paretoConsts struct{ lgR, psiR, lnAlpha, lnBeta, lnS float64 }

func (m ParetoNBD) consts() paretoConsts {
	lgR, _ := math.Lgamma(m.R)
	return paretoConsts{lgR: lgR, psiR: digamma(m.R), lnAlpha: math.Log(m.Alpha), lnBeta: math.Log(m.Beta), lnS: math.Log(m.S)}
}

func newParetoSeries(groups []RFGroup) *paretoSeries {
	// Every group's (x, t_x), then every group's (x, T), grouped as
	// customers are (groupRF, with t in the T place).
	n := len(groups)
	xs, ts := make([]float64, 2*n), make([]float64, 2*n)
	for i, g := range groups {
		xs[i], ts[i] = g.X, g.Tx
		xs[n+i], ts[n+i] = g.X, g.T
	}
	idx, keys := groupRF(xs, make([]float64, 2*n), ts)
	ps := &paretoSeries{at: make([][2]int32, n), x: make([]float64, len(keys)), t: make([]float64, len(keys))}
	for k, key := range keys {
		ps.x[k], ps.t[k] = key.X, key.T
	}
	for i := range groups {
		ps.at[i] = [2]int32{idx[i], idx[n+i]}
	}
	return ps
}

// sum returns the series of every (x, t) at m's parameters, as logLikGrad
// would sum them (with partials when grad is set), in parallel. A series
// too long for the series (logLikGrad's useQuad test, which is this one
// for t = t_x) is left out.
func (ps *paretoSeries) sum(m ParetoNBD, grad bool) []seriesVal {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	hi, lo := alpha, beta
	alphaLow := alpha < beta
	if alphaLow {
		hi, lo = beta, alpha
	}
	vals := make([]seriesVal, len(ps.x))
	chunkedSum(len(ps.x), 256, 0, nil, func(from, to int, _ []float64) float64 {
		for k := from; k < to; k++ {
			x, t := ps.x[k], ps.t[k]
			a, b := r+s+x, s+1
			if alphaLow {
				b = r + x
			}
			z := (hi - lo) / (hi + t)
			if seriesTerms(b, z) > maxSeriesTerms {
				continue
			}
			v := &vals[k]
			if grad {
				v.lnF, v.fa, v.fb, v.fz = hyp2F1a1Grad(a, b, z)
			} else {
				v.lnF = log2F1a1(a, b, z)
			}
			v.lmt, v.ok = math.Log(hi+t), true
		}
		return 0
	})
	return vals
}
