package models

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mathext"
)

// RFGroup is a group of customers sharing one BTYD summary: x repeat
// purchases, recency t_x and age T (same time unit), with a weight (count).
type RFGroup struct {
	X, Tx, T float64
	Weight   float64
}

// CompressRF groups identical (x, t_x, T) triples, each customer weighing 1.
// The groups come back in a deterministic order (sorted by x, t_x, T).
func CompressRF(x, tx, T []float64) []RFGroup { return CompressWeighted(x, tx, T, nil) }

// CompressWeighted groups identical (x, t_x, T) triples, adding the weights
// w (nil: 1 each), sorted by x, t_x, T.
func CompressWeighted(x, tx, T, w []float64) []RFGroup {
	group, keys := groupRF(x, tx, T)
	return weighGroups(keys, group, w)
}

// weighGroups adds to keys[group[i]] customer i's weight w[i] (nil: 1
// each) and sorts keys by x, t_x, T; keys is changed and returned.
func weighGroups(keys []RFGroup, group []int32, w []float64) []RFGroup {
	for i, g := range group {
		if w != nil {
			keys[g].Weight += w[i]
		} else {
			keys[g].Weight++
		}
	}
	slices.SortFunc(keys, func(a, b RFGroup) int {
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Tx, b.Tx); c != 0 {
			return c
		}
		return cmp.Compare(a.T, b.T)
	})
	return keys
}

// BGNBD holds the parameters of the beta-geometric/NBD model of Fader, Hardie
// & Lee (2005), "Counting Your Customers the Easy Way": purchase rate
// λ ~ Gamma(r, α); after each purchase the customer drops out with
// probability p ~ Beta(a, b).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	// LogLik is the log-likelihood at the fit (0 when not fitted).
	LogLik float64 `json:"log_likelihood"`
}

// LogLikelihood returns the BG/NBD log-likelihood of one customer (FHL 2005, eq. 6).
func (m BGNBD) LogLikelihood(x, tx, T float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	lr := math.Lgamma
	lgRx, _ := lr(r + x)
	lgR, _ := lr(r)
	lgAB, _ := lr(a + b)
	lgBx, _ := lr(b + x)
	lgB, _ := lr(b)
	lgABx, _ := lr(a + b + x)
	A := lgRx - lgR + r*math.Log(alpha)
	B := lgAB + lgBx - lgB - lgABx
	C := -(r + x) * math.Log(alpha+T)
	if x == 0 {
		return A + B + C
	}
	D := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(alpha+tx)
	return A + B + logAddExp(C, D)
}

func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// logLikGrad returns the summed log-likelihood of the groups and, when grad
// is not nil, writes its gradient with respect to (log r, log α, log a, log b).
func (m BGNBD) logLikGrad(groups []RFGroup, grad []float64) float64 {
	return bgFamilyLogLikGrad(m.R, m.Alpha, m.A, m.B, false, groups, grad)
}

// bgFamilyLogLikGrad is the log-likelihood of BG/NBD (FHL 2005, eq. 6) or,
// when modified, MBG/NBD (Batislam, Denizel & Filiztekin 2007, where a
// customer may also drop out right after the first purchase), with its
// gradient in log-parameters. Both are A + B + log(e^C + e^D) with
//
//	A = lnΓ(r+x) − lnΓ(r) + r ln α
//	B = lnΓ(a+b) + lnΓ(b+x+k) − lnΓ(b) − lnΓ(a+b+x+k)
//	C = −(r+x) ln(α+T)
//	D = ln a − ln(b+x−1+k) − (r+x) ln(α+t_x)   (BG/NBD: only when x > 0)
//
// and k = 0 for BG/NBD, 1 for MBG/NBD. The gradient weighs the C and D terms
// by their shares of e^C + e^D. Groups sorted by x share the x-dependent terms.
func bgFamilyLogLikGrad(r, alpha, a, b float64, modified bool, groups []RFGroup, grad []float64) float64 {
	k := 0.0
	if modified {
		k = 1
	}
	lgR, _ := math.Lgamma(r)
	lgAB, _ := math.Lgamma(a + b)
	lgB, _ := math.Lgamma(b)
	psiR, psiAB, psiB := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	logAlpha, logA := math.Log(alpha), math.Log(a)
	var ll, gr, galpha, ga, gb float64
	prevX := math.NaN()
	var lgRx, lgBx, lgABx, psiRx, psiBx, psiABx, logBx1 float64
	for _, g := range groups {
		x := g.X
		if x != prevX {
			prevX = x
			lgRx, _ = math.Lgamma(r + x)
			lgBx, _ = math.Lgamma(b + x + k)
			lgABx, _ = math.Lgamma(a + b + x + k)
			if grad != nil {
				psiRx, psiBx, psiABx = mathext.Digamma(r+x), mathext.Digamma(b+x+k), mathext.Digamma(a+b+x+k)
			}
			logBx1 = math.Log(b + x - 1 + k)
		}
		logAT := math.Log(alpha + g.T)
		C := -(r + x) * logAT
		wC, wD, total := 1.0, 0.0, C
		hasD := x > 0 || modified
		var logATx float64
		if hasD {
			logATx = math.Log(alpha + g.Tx)
			D := logA - logBx1 - (r+x)*logATx
			// ln(e^C + e^D) and the share of e^C from one exponential.
			hi, lo := C, D
			if D > C {
				hi, lo = D, C
			}
			e := math.Exp(lo - hi)
			total = hi + math.Log1p(e)
			if C >= D {
				wC = 1 / (1 + e)
			} else {
				wC = e / (1 + e)
			}
			wD = 1 - wC
		}
		ll += g.Weight * (lgRx - lgR + r*logAlpha + lgAB + lgBx - lgB - lgABx + total)
		if grad == nil {
			continue
		}
		w := g.Weight
		gr += w * (psiRx - psiR + logAlpha - wC*logAT - wD*logATx)
		galpha += w * (r/alpha - wC*(r+x)/(alpha+g.T))
		ga += w * (psiAB - psiABx)
		gb += w * (psiAB + psiBx - psiB - psiABx)
		if hasD {
			galpha -= w * wD * (r + x) / (alpha + g.Tx)
			ga += w * wD / a
			gb -= w * wD / (b + x - 1 + k)
		}
	}
	if grad != nil {
		grad[0], grad[1], grad[2], grad[3] = r*gr, alpha*galpha, a*ga, b*gb
	}
	return ll
}

func bgnbdFromLog(p []float64) BGNBD {
	return BGNBD{R: math.Exp(p[0]), Alpha: math.Exp(p[1]), A: math.Exp(p[2]), B: math.Exp(p[3])}
}

// FitBGNBD estimates BG/NBD parameters by maximum likelihood on compressed
// groups, optimising log-parameters with L-BFGS and the analytic gradient.
func FitBGNBD(groups []RFGroup) (BGNBD, error) { return fitBGNBD(groups, FitOptions{}) }

func fitBGNBD(groups []RFGroup, opt FitOptions) (BGNBD, error) {
	p, ll, err := fitBGFamily(groups, false, opt)
	if err != nil {
		return BGNBD{}, fmt.Errorf("models: bgnbd: %w", err)
	}
	return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3], LogLik: ll}, nil
}

// fitBGFamily fits (r, α, a, b) of BG/NBD or MBG/NBD.
func fitBGFamily(groups []RFGroup, modified bool, opt FitOptions) ([]float64, float64, error) {
	groups, err := checkGroups(groups)
	if err != nil {
		return nil, 0, err
	}
	ll := func(p, g []float64) float64 {
		r, alpha, a, b := math.Exp(p[0]), math.Exp(p[1]), math.Exp(p[2]), math.Exp(p[3])
		return chunkedSum(len(groups), 2048, 4, g, func(lo, hi int, cg []float64) float64 {
			return bgFamilyLogLikGrad(r, alpha, a, b, modified, groups[lo:hi], cg)
		})
	}
	nll := func(p []float64) float64 { return -ll(p, nil) }
	grad := func(g, p []float64) float64 {
		clear(g)
		v := ll(p, g)
		for i := range g {
			g[i] = -g[i]
		}
		return -v
	}
	x0 := []float64{0, math.Log(math.Max(meanT(groups), 1e-3)), 0, 0}
	best, err := minimizeLog(nll, grad, x0, totalWeight(groups), opt)
	if err != nil {
		return nil, 0, err
	}
	return []float64{math.Exp(best[0]), math.Exp(best[1]), math.Exp(best[2]), math.Exp(best[3])}, -nll(best), nil
}

func totalWeight(groups []RFGroup) float64 {
	w := 0.0
	for _, g := range groups {
		w += g.Weight
	}
	return w
}

// checkGroups validates BTYD summaries and returns them sorted by x. The
// model is not identified without repeat buyers.
func checkGroups(groups []RFGroup) ([]RFGroup, error) {
	if len(groups) == 0 {
		return nil, errors.New("no customers")
	}
	repeat := 0.0
	for _, g := range groups {
		switch {
		case g.Weight <= 0 || math.IsNaN(g.Weight):
			return nil, fmt.Errorf("group weight %v must be > 0", g.Weight)
		case g.X < 0 || g.X != math.Trunc(g.X) || math.IsInf(g.X, 0):
			return nil, fmt.Errorf("x = %v must be a whole number ≥ 0", g.X)
		case g.T <= 0 || math.IsInf(g.T, 0) || math.IsNaN(g.T):
			return nil, fmt.Errorf("age T = %v must be > 0 (a customer observed for no time carries no information)", g.T)
		case g.Tx < 0 || g.Tx > g.T || math.IsNaN(g.Tx):
			return nil, fmt.Errorf("t_x = %v must be in [0, T = %v]", g.Tx, g.T)
		case g.X > 0 && g.Tx == 0:
			return nil, fmt.Errorf("x = %v repeat purchases but t_x = 0", g.X)
		case g.X == 0 && g.Tx != 0:
			return nil, fmt.Errorf("x = 0 but t_x = %v", g.Tx)
		}
		if g.X > 0 {
			repeat += g.Weight
		}
	}
	if repeat == 0 {
		return nil, errors.New("no repeat buyers; the model is not identified")
	}
	if !sort.SliceIsSorted(groups, func(i, j int) bool { return groups[i].X < groups[j].X }) {
		groups = append([]RFGroup(nil), groups...)
		sort.SliceStable(groups, func(i, j int) bool { return groups[i].X < groups[j].X })
	}
	return groups, nil
}

func meanT(groups []RFGroup) float64 {
	var s, w float64
	for _, g := range groups {
		s += g.Weight * g.T
		w += g.Weight
	}
	return s / w
}

// PAlive returns P(alive | x, t_x, T) (FHL 2005, eq. 13 of the technical note).
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	lt := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(lt))
}

// ExpectedPurchases returns E[Y(t) | x, t_x, T], the expected number of
// purchases in (T, T+t] (FHL 2005, eq. 10). It needs a ≠ 1.
func (m BGNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	return expectedPurchases(m, t, x, tx, T)
}

// expectedIfAliveMulti writes E[Y(t) | alive at T, x, T] for every horizon:
// FHL 2005 eq. 10 is P(alive) times (a+b+x−1)/(a−1) · (1 − (1−z)^(r+x)
// ₂F₁(r+x, b+x; a+b+x−1; z)) with z = t/(α+T+t), computed through Euler's
// transformation (see eulerBracketMulti).
func (m BGNBD) expectedIfAliveMulti(dst, ts []float64, x, T float64) {
	bgFamilyIfAlive(dst, ts, m.Alpha, T, m.A, m.R+x, m.B+x, m.A+m.B+x-1)
}

// ExpectedPurchasesPopulation returns E[X(t)] for a new customer (FHL 2005, eq. 7).
func (m BGNBD) ExpectedPurchasesPopulation(t float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	hyp := mathext.Hypergeo(r, b, a+b-1, t/(alpha+t))
	return (a + b - 1) / (a - 1) * (1 - math.Pow(alpha/(alpha+t), r)*hyp)
}
