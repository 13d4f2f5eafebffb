package models

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGBB holds the parameters of the beta-geometric/beta-Bernoulli model of
// Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time
// Noncontractual Setting": while alive a customer buys at each transaction
// opportunity with probability p ~ Beta(α, β) and dies at the start of each
// opportunity with probability θ ~ Beta(γ, δ).
//
// Data are per customer x (repeat transactions), t_x (the opportunity of the
// last one, 0 when x = 0) and n (opportunities observed); an RFGroup carries
// them as X, Tx and T.
type BGBB struct {
	Alpha  float64 `json:"alpha"`
	Beta   float64 `json:"beta"`
	Gamma  float64 `json:"gamma"`
	Delta  float64 `json:"delta"`
	LogLik float64 `json:"log_likelihood"`
}

func lnBeta(a, b float64) float64 {
	x, _ := math.Lgamma(a)
	y, _ := math.Lgamma(b)
	z, _ := math.Lgamma(a + b)
	return x + y - z
}

// logLikGrad returns the log-likelihood of one customer (FHS 2010, eq. 5)
//
//	L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//	  + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
//
// summed in log space, and adds weight × its gradient with respect to
// (ln α, ln β, ln γ, ln δ) to grad when grad is not nil.
func (m BGBB) logLikGrad(x, tx, n, weight float64, grad []float64) float64 {
	al, be, ga, de := m.Alpha, m.Beta, m.Gamma, m.Delta
	base := -lnBeta(al, be) - lnBeta(ga, de)
	terms := int(n - tx)
	ls := make([]float64, 0, terms+1)
	ls = append(ls, base+lnBeta(al+x, be+n-x)+lnBeta(ga, de+n))
	for i := 0.0; i < float64(terms); i++ {
		ls = append(ls, base+lnBeta(al+x, be+tx-x+i)+lnBeta(ga+1, de+tx+i))
	}
	ll := math.Inf(-1)
	for _, l := range ls {
		ll = logAddExp(ll, l)
	}
	if grad == nil {
		return ll
	}
	psi := mathext.Digamma
	cAl := -psi(al) + psi(al+be)
	cBe := -psi(be) + psi(al+be)
	cGa := -psi(ga) + psi(ga+de)
	cDe := -psi(de) + psi(ga+de)
	var dAl, dBe, dGa, dDe float64
	for j, l := range ls {
		w := math.Exp(l - ll)
		if j == 0 {
			dAl += w * (psi(al+x) - psi(al+be+n) + cAl)
			dBe += w * (psi(be+n-x) - psi(al+be+n) + cBe)
			dGa += w * (psi(ga) - psi(ga+de+n) + cGa)
			dDe += w * (psi(de+n) - psi(ga+de+n) + cDe)
			continue
		}
		i := float64(j - 1)
		dAl += w * (psi(al+x) - psi(al+be+tx+i) + cAl)
		dBe += w * (psi(be+tx-x+i) - psi(al+be+tx+i) + cBe)
		dGa += w * (psi(ga+1) - psi(ga+de+1+tx+i) + cGa)
		dDe += w * (psi(de+tx+i) - psi(ga+de+1+tx+i) + cDe)
	}
	grad[0] += weight * al * dAl
	grad[1] += weight * be * dBe
	grad[2] += weight * ga * dGa
	grad[3] += weight * de * dDe
	return ll
}

// LogLikelihood returns the log-likelihood of one customer's (x, t_x, n).
func (m BGBB) LogLikelihood(x, tx, n float64) float64 { return m.logLikGrad(x, tx, n, 0, nil) }

// CheckDiscrete validates BG/BB summaries: whole numbers with
// 0 ≤ x ≤ t_x ≤ n, n ≥ 1, t_x = 0 exactly when x = 0.
func CheckDiscrete(groups []RFGroup) error {
	if len(groups) == 0 {
		return errors.New("no customers")
	}
	repeat := false
	for _, g := range groups {
		whole := g.X == math.Trunc(g.X) && g.Tx == math.Trunc(g.Tx) && g.T == math.Trunc(g.T)
		switch {
		case !whole:
			return fmt.Errorf("x = %v, t_x = %v, n = %v must be whole numbers of opportunities", g.X, g.Tx, g.T)
		case g.T < 1:
			return fmt.Errorf("n = %v: a customer needs at least one opportunity", g.T)
		case g.X < 0 || g.X > g.Tx || g.Tx > g.T || (g.X == 0) != (g.Tx == 0):
			return fmt.Errorf("need 0 ≤ x ≤ t_x ≤ n with t_x = 0 only when x = 0; got x = %v, t_x = %v, n = %v", g.X, g.Tx, g.T)
		case g.Weight <= 0:
			return fmt.Errorf("group weight %v must be > 0", g.Weight)
		}
		repeat = repeat || g.X > 0
	}
	if !repeat {
		return errors.New("no repeat buyers; the model is not identified")
	}
	return nil
}

// FitBGBB estimates BG/BB parameters by maximum likelihood with the analytic gradient.
func FitBGBB(groups []RFGroup) (BGBB, error) { return fitBGBB(groups, FitOptions{}) }

func fitBGBB(groups []RFGroup, opt FitOptions) (BGBB, error) {
	if err := CheckDiscrete(groups); err != nil {
		return BGBB{}, fmt.Errorf("models: bg/bb: %w", err)
	}
	from := func(p []float64) BGBB {
		return BGBB{Alpha: math.Exp(p[0]), Beta: math.Exp(p[1]), Gamma: math.Exp(p[2]), Delta: math.Exp(p[3])}
	}
	nll := func(p []float64) float64 {
		m, s := from(p), 0.0
		for _, g := range groups {
			s += g.Weight * m.logLikGrad(g.X, g.Tx, g.T, 0, nil)
		}
		return -s
	}
	grad := func(d, p []float64) float64 {
		m, s := from(p), 0.0
		clear(d)
		for _, g := range groups {
			s += g.Weight * m.logLikGrad(g.X, g.Tx, g.T, g.Weight, d)
		}
		for i := range d {
			d[i] = -d[i]
		}
		return -s
	}
	best, err := minimizeLog(nll, grad, []float64{0, 0, 0, 0}, totalWeight(groups), opt)
	if err != nil {
		return BGBB{}, fmt.Errorf("models: bg/bb: %w", err)
	}
	m := from(best)
	m.LogLik = -nll(best)
	return m, nil
}

// PAlive returns P(alive at opportunity n+1 | x, t_x, n) (FHS 2010, eq. 11).
func (m BGBB) PAlive(x, tx, n float64) float64 {
	l := lnBeta(m.Alpha+x, m.Beta+n-x) - lnBeta(m.Alpha, m.Beta) + lnBeta(m.Gamma, m.Delta+n+1) - lnBeta(m.Gamma, m.Delta)
	return math.Exp(l - m.LogLikelihood(x, tx, n))
}

// ExpectedPurchases returns the expected transactions in the next nStar
// opportunities, E[X(n, n+n*) | x, t_x, n] (FHS 2010, eq. 13). It needs γ ≠ 1.
func (m BGBB) ExpectedPurchases(nStar, x, tx, n float64) float64 {
	if nStar <= 0 {
		return 0
	}
	al, be, ga, de := m.Alpha, m.Beta, m.Gamma, m.Delta
	lg := func(v float64) float64 { r, _ := math.Lgamma(v); return r }
	l := lnBeta(al+x+1, be+n-x) - lnBeta(al, be) - m.LogLikelihood(x, tx, n) + lg(ga+de) - lg(1+de)
	diff := math.Exp(lg(1+de+n)-lg(ga+de+n)) - math.Exp(lg(1+de+n+nStar)-lg(ga+de+n+nStar))
	return math.Exp(l) * de / (ga - 1) * diff
}

// ExpectedPurchasesPopulation returns E[X(n)], the expected transactions of a
// new customer in n opportunities (FHS 2010, eq. 9):
// α/(α+β) · δ/(γ−1) · (1 − Γ(γ+δ)Γ(1+δ+n)/(Γ(γ+δ+n)Γ(1+δ))).
func (m BGBB) ExpectedPurchasesPopulation(n float64) float64 {
	lg := func(v float64) float64 { r, _ := math.Lgamma(v); return r }
	g, d := m.Gamma, m.Delta
	return m.Alpha / (m.Alpha + m.Beta) * d / (g - 1) * -math.Expm1(lg(g+d)+lg(1+d+n)-lg(g+d+n)-lg(1+d))
}
