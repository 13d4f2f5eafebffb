package models

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// ParetoNBD holds the parameters of the Pareto/NBD model of Schmittlein,
// Morrison & Colombo (1987): purchase rate λ ~ Gamma(r, α), lifetime
// exponential with rate μ ~ Gamma(s, β).
type ParetoNBD struct {
	R      float64 `json:"r"`
	Alpha  float64 `json:"alpha"`
	S      float64 `json:"s"`
	Beta   float64 `json:"beta"`
	LogLik float64 `json:"log_likelihood"`
}

// log2F1a1 returns ln ₂F₁(a, b; a+1; z) for a, b > 0 and 0 ≤ z < 1 from its
// power series Σ_k a/(a+k) · (b)_k/k! · z^k. Every term is positive, so there
// is no cancellation; the partial sum is rescaled whenever it grows past
// 2^900, so neither large a (= r+s+x) nor b nor z near 1 overflows.
func log2F1a1(a, b, z float64) float64 {
	if z == 0 {
		return 0
	}
	const big, bigLog = 0x1p900, 900 * math.Ln2
	term, sum, scale := 1.0, 1.0, 0.0
	for k := 0.0; k < 1e7; k++ {
		ratio := (a + k) * (b + k) * z / ((a + k + 1) * (k + 1))
		term *= ratio
		sum += term
		if sum > big {
			sum /= big
			term /= big
			scale += bigLog
		}
		// Past the peak the next ratio is below this one, so the tail is at
		// most term·ratio/(1−ratio).
		if ratio < 1 && term*ratio < 1e-17*(1-ratio)*sum {
			break
		}
	}
	return math.Log(sum) + scale
}

// logA0 returns ln A₀ of the Pareto/NBD likelihood (Fader, Hardie & Lee 2005,
// "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. 21–22):
// A₀ = ₂F₁(r+s+x, t; r+s+x+1; |α−β|/(m+t_x))/(m+t_x)^(r+s+x) − the same at T,
// with m = max(α, β) and t = r+x if α < β, else s+1. It is −Inf when t_x = T.
func (m ParetoNBD) logA0(x, tx, T float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	rsx := r + s + x
	hi, lo, t := alpha, beta, s+1
	if alpha < beta {
		hi, lo, t = beta, alpha, r+x
	}
	if seriesTerms(t, (hi-lo)/(hi+tx)) > maxSeriesTerms {
		v, _ := m.logA0Quad(x, tx, T, false)
		return v
	}
	p1 := log2F1a1(rsx, t, (hi-lo)/(hi+tx)) - rsx*math.Log(hi+tx)
	p2 := log2F1a1(rsx, t, (hi-lo)/(hi+T)) - rsx*math.Log(hi+T)
	if p2 >= p1 {
		return math.Inf(-1)
	}
	return p1 + math.Log(-math.Expm1(p2-p1))
}

// LogLikelihood returns the Pareto/NBD log-likelihood of one customer
// (Fader, Hardie & Lee 2005 note, eq. 22), computed in log space.
func (m ParetoNBD) LogLikelihood(x, tx, T float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	lgRx, _ := math.Lgamma(r + x)
	lgR, _ := math.Lgamma(r)
	a1 := lgRx - lgR + r*math.Log(alpha) + s*math.Log(beta)
	alive := -(r+x)*math.Log(alpha+T) - s*math.Log(beta+T)
	return a1 + logAddExp(alive, math.Log(s)-math.Log(r+s+x)+m.logA0(x, tx, T))
}

// totalLogLikGrad sums the log-likelihood over groups sorted by x (sharing
// the x-dependent gamma terms within a chunk) and, when grad is not nil,
// adds its gradient in log-parameters. Chunks run in parallel. ps, when
// set, is newParetoSeries(groups): the series are summed once per (x, t).
func (m ParetoNBD) totalLogLikGrad(groups []RFGroup, ps *paretoSeries, grad []float64) float64 {
	var vals []seriesVal
	if ps != nil {
		vals = ps.sum(m, grad != nil)
	}
	k := m.consts()
	return chunkedSum(len(groups), 512, 4, grad, func(lo, hi int, g []float64) float64 {
		prevX, lgRx, psiRx := math.NaN(), 0.0, 0.0
		ll := 0.0
		for i := lo; i < hi; i++ {
			gr := &groups[i]
			var pre [2]*seriesVal
			if vals != nil {
				pre = [2]*seriesVal{&vals[ps.at[i][0]], &vals[ps.at[i][1]]}
			}
			if gr.X != prevX {
				prevX = gr.X
				lgRx, _ = math.Lgamma(m.R + gr.X)
				if g != nil {
					psiRx = digamma(m.R + gr.X)
				}
			}
			ll += gr.Weight * m.logLikGrad(gr.X, gr.Tx, gr.T, gr.Weight, lgRx, psiRx, g, pre, &k)
		}
		return ll
	})
}

// FitParetoNBD estimates Pareto/NBD parameters by maximum likelihood on
// compressed groups (L-BFGS on log-parameters, central-difference gradient:
// the derivatives of the hypergeometric term have no cheap closed form).
func FitParetoNBD(groups []RFGroup) (ParetoNBD, error) { return fitParetoNBD(groups, FitOptions{}) }

// fitParetoNBD fits from opt.Start or, when unset, from r = s = 1, α = β = mean T.
func fitParetoNBD(groups []RFGroup, opt FitOptions) (ParetoNBD, error) {
	groups, err := checkGroups(groups)
	if err != nil {
		return ParetoNBD{}, fmt.Errorf("models: pareto/nbd: %w", err)
	}
	from := func(p []float64) ParetoNBD {
		return ParetoNBD{R: math.Exp(p[0]), Alpha: math.Exp(p[1]), S: math.Exp(p[2]), Beta: math.Exp(p[3])}
	}
	ps := newParetoSeries(groups)
	nll := func(p []float64) float64 { return -from(p).totalLogLikGrad(groups, ps, nil) }
	grad := func(g, p []float64) float64 {
		clear(g)
		v := from(p).totalLogLikGrad(groups, ps, g)
		for i := range g {
			g[i] = -g[i]
		}
		return -v
	}
	mt := math.Log(meanT(groups))
	best, err := minimizeLog(nll, grad, []float64{0, mt, 0, mt}, totalWeight(groups), opt)
	if err != nil {
		return ParetoNBD{}, fmt.Errorf("models: pareto/nbd: %w", err)
	}
	m := from(best)
	m.LogLik = -nll(best)
	return m, nil
}

// PAlive returns P(alive | x, t_x, T) (Fader, Hardie & Lee 2005 note, eq. 24).
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	l := math.Log(s) - math.Log(r+s+x) + (r+x)*math.Log(alpha+T) + s*math.Log(beta+T) + m.logA0(x, tx, T)
	return 1 / (1 + math.Exp(l))
}

// ExpectedPurchases returns E[Y(t) | x, t_x, T] (Schmittlein et al. 1987,
// eq. 22): (r+x)(β+T)/((α+T)(s−1)) · (1 − ((β+T)/(β+T+t))^(s−1)) · P(alive).
// For s = 1 it uses the limit (r+x)/(α+T) · (β+T) · ln((β+T+t)/(β+T)).
func (m ParetoNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return expectedPurchases(m, t, x, tx, T)
}

// expectedIfAliveMulti writes E[Y(t) | alive at T, x, T] =
// (r+x)(β+T)/((α+T)(s−1)) · (1 − ((β+T)/(β+T+t))^(s−1)) for every horizon
// (the limit (r+x)(β+T)/(α+T) · ln((β+T+t)/(β+T)) at s = 1).
func (m ParetoNBD) expectedIfAliveMulti(dst, ts []float64, x, T float64) {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	for i, t := range ts {
		switch {
		case t <= 0:
			dst[i] = 0
		case math.Abs(s-1) < 1e-9:
			dst[i] = (r + x) / (alpha + T) * (beta + T) * math.Log((beta+T+t)/(beta+T))
		default:
			dst[i] = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * -math.Expm1((s-1)*math.Log((beta+T)/(beta+T+t)))
		}
	}
}

// ExpectedPurchasesPopulation returns E[X(t)] for a new customer
// (Schmittlein et al. 1987, eq. 17): rβ/(α(s−1)) · (1 − (β/(β+t))^(s−1)).
func (m ParetoNBD) ExpectedPurchasesPopulation(t float64) float64 {
	if math.Abs(m.S-1) < 1e-9 {
		return m.R * m.Beta / m.Alpha * math.Log((m.Beta+t)/m.Beta)
	}
	return m.R * m.Beta / (m.Alpha * (m.S - 1)) * -math.Expm1((m.S-1)*math.Log(m.Beta/(m.Beta+t)))
}

func digamma(x float64) float64 { return mathext.Digamma(x) }
