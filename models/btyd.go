package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// PurchaseModel is a buy-till-you-die purchase model with its parameters.
// For BG/BB, T is the number of opportunities n and t a number of future
// opportunities; for the others they are times in the caller's unit.
type PurchaseModel interface {
	Name() string
	ParamNames() []string // as in the papers: r alpha a b, r alpha s beta, alpha beta gamma delta
	ParamValues() []float64
	LogLikelihood(x, tx, T float64) float64
	PAlive(x, tx, T float64) float64
	ExpectedPurchases(t, x, tx, T float64) float64
	// ExpectedPurchasesPopulation is E[X(t)] for a customer just acquired.
	ExpectedPurchasesPopulation(t float64) float64
}

// PurchaseModelNames lists the models FitPurchaseModel knows, in a stable order.
var PurchaseModelNames = []string{"bgnbd", "mbgnbd", "pareto-nbd", "bgbb"}

// Discrete reports whether the model counts opportunities (BG/BB) rather than time.
func Discrete(name string) bool { return name == "bgbb" }

// NewPurchaseModel returns the named model with the given parameters (in ParamNames order).
func NewPurchaseModel(name string, p []float64) (PurchaseModel, error) {
	if len(p) != 4 {
		return nil, fmt.Errorf("models: %s takes 4 parameters, got %d", name, len(p))
	}
	for _, v := range p {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("models: %s parameters must be positive and finite, got %v", name, p)
		}
	}
	switch name {
	case "bgnbd":
		return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, nil
	case "mbgnbd":
		return MBGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, nil
	case "pareto-nbd":
		return ParetoNBD{R: p[0], Alpha: p[1], S: p[2], Beta: p[3]}, nil
	case "bgbb":
		return BGBB{Alpha: p[0], Beta: p[1], Gamma: p[2], Delta: p[3]}, nil
	}
	return nil, fmt.Errorf("models: unknown model %q (want one of %v)", name, PurchaseModelNames)
}

// FitPurchaseModel fits the named model by maximum likelihood.
func FitPurchaseModel(name string, groups []RFGroup) (PurchaseModel, error) {
	return FitPurchaseModelWith(name, groups, FitOptions{})
}

// FitOptions adjusts a maximum-likelihood fit. The zero value is a plain fit.
type FitOptions struct {
	// L2 > 0 maximises the mean log-likelihood minus L2·Σθ² over the natural
	// parameters θ (lifetimes' penalizer_coef), which keeps estimates finite
	// on small samples. LogLik still reports the unpenalised log-likelihood.
	L2 float64
	// Start, when set, starts the optimiser from these parameters (in
	// ParamNames order), e.g. yesterday's fit: fewer iterations.
	Start []float64
}

// FitPurchaseModelWith fits the named model with options.
func FitPurchaseModelWith(name string, groups []RFGroup, opt FitOptions) (PurchaseModel, error) {
	if opt.L2 < 0 || math.IsNaN(opt.L2) {
		return nil, fmt.Errorf("models: L2 penalty must be ≥ 0, got %v", opt.L2)
	}
	switch name {
	case "bgnbd":
		return fitBGNBD(groups, opt)
	case "mbgnbd":
		return fitMBGNBD(groups, opt)
	case "pareto-nbd":
		return fitParetoNBD(groups, opt)
	case "bgbb":
		return fitBGBB(groups, opt)
	}
	return nil, fmt.Errorf("models: unknown model %q (want one of %v)", name, PurchaseModelNames)
}

// TotalLogLik sums the model's log-likelihood over weighted groups.
func TotalLogLik(m PurchaseModel, groups []RFGroup) float64 {
	// The groups' terms on every core, added in group order: the sum of a
	// loop over the groups, bit for bit.
	ll := make([]float64, len(groups))
	parallelFor(len(groups), func(i int) {
		g := &groups[i]
		ll[i] = g.Weight * m.LogLikelihood(g.X, g.Tx, g.T)
	})
	s := 0.0
	for _, v := range ll {
		s += v
	}
	return s
}

// ExpectedPurchasesAll writes m.ExpectedPurchases(t, x[i], tx[i], T[i]) to
// dst[i] for every customer: once per distinct (x, t_x, T), on every core
// (a million customers are about a quarter of a million triples).
func ExpectedPurchasesAll(dst []float64, m PurchaseModel, t float64, x, tx, T []float64) {
	IndexRF(x, tx, T).ExpectedPurchases(dst, m, t)
}

func (m BGNBD) Name() string             { return "bgnbd" }
func (m BGNBD) ParamNames() []string     { return []string{"r", "alpha", "a", "b"} }
func (m BGNBD) ParamValues() []float64   { return []float64{m.R, m.Alpha, m.A, m.B} }
func (m MBGNBD) Name() string            { return "mbgnbd" }
func (m MBGNBD) ParamNames() []string    { return []string{"r", "alpha", "a", "b"} }
func (m MBGNBD) ParamValues() []float64  { return []float64{m.R, m.Alpha, m.A, m.B} }
func (m ParetoNBD) Name() string         { return "pareto-nbd" }
func (m ParetoNBD) ParamNames() []string { return []string{"r", "alpha", "s", "beta"} }
func (m ParetoNBD) ParamValues() []float64 {
	return []float64{m.R, m.Alpha, m.S, m.Beta}
}
func (m BGBB) Name() string           { return "bgbb" }
func (m BGBB) ParamNames() []string   { return []string{"alpha", "beta", "gamma", "delta"} }
func (m BGBB) ParamValues() []float64 { return []float64{m.Alpha, m.Beta, m.Gamma, m.Delta} }

// Uncertainty is the asymptotic sampling distribution of fitted parameters:
// log-parameters are approximately normal with covariance LogCov, the inverse
// of the observed information (the numerical Hessian of the negative
// log-likelihood at the optimum).
type Uncertainty struct {
	Names  []string    `json:"names"`
	Values []float64   `json:"values"`
	LogSE  []float64   `json:"log_se"`  // standard errors of ln θ
	Lower  []float64   `json:"lower95"` // exp(ln θ − 1.96 se)
	Upper  []float64   `json:"upper95"` // exp(ln θ + 1.96 se)
	LogCov [][]float64 `json:"log_cov"`
}

// observedInformation returns the uncertainty of parameters p under the
// negative log-likelihood nll of log-parameters.
func observedInformation(names []string, p []float64, nll func([]float64) float64) (Uncertainty, error) {
	k := len(p)
	lp := make([]float64, k)
	for i, v := range p {
		lp[i] = math.Log(v)
	}
	var h mat.SymDense
	fd.Hessian(&h, nll, lp, &fd.Settings{Formula: fd.Central, Step: 1e-4})
	var chol mat.Cholesky
	if ok := chol.Factorize(&h); !ok {
		return Uncertainty{}, fmt.Errorf("models: the information matrix is not positive definite: the data do not identify every parameter")
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return Uncertainty{}, fmt.Errorf("models: invert information: %w", err)
	}
	u := Uncertainty{Names: slices.Clone(names), Values: slices.Clone(p), LogCov: make([][]float64, k)}
	for i := 0; i < k; i++ {
		u.LogCov[i] = make([]float64, k)
		for j := 0; j < k; j++ {
			u.LogCov[i][j] = cov.At(i, j)
		}
		se := math.Sqrt(cov.At(i, i))
		u.LogSE = append(u.LogSE, se)
		u.Lower = append(u.Lower, math.Exp(lp[i]-1.96*se))
		u.Upper = append(u.Upper, math.Exp(lp[i]+1.96*se))
	}
	return u, nil
}

// PurchaseUncertainty returns the uncertainty of a fitted purchase model's parameters.
func PurchaseUncertainty(m PurchaseModel, groups []RFGroup) (Uncertainty, error) {
	return PurchaseUncertaintyWith(m, groups, FitOptions{})
}

// PurchaseUncertaintyWith is PurchaseUncertainty for a fit made with opt:
// with an L2 penalty the curvature is that of the penalised objective
// (−LL + W·L2·Σθ², W the total weight), which the estimate optimises.
func PurchaseUncertaintyWith(m PurchaseModel, groups []RFGroup, opt FitOptions) (Uncertainty, error) {
	name := m.Name()
	w := totalWeight(groups)
	nll := func(lp []float64) float64 {
		p := make([]float64, len(lp))
		for i, v := range lp {
			p[i] = math.Exp(v)
		}
		mm, err := NewPurchaseModel(name, p)
		if err != nil {
			return math.Inf(1)
		}
		pen := 0.0
		for _, v := range p {
			pen += v * v
		}
		return -TotalLogLik(mm, groups) + w*opt.L2*pen
	}
	return observedInformation(m.ParamNames(), m.ParamValues(), nll)
}

// Draws samples n parameter vectors from the asymptotic normal distribution
// of the log-parameters, using rng (seeded by the caller for reproducibility).
func (u Uncertainty) Draws(n int, rng *rand.Rand) ([][]float64, error) {
	k := len(u.Values)
	cov := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			cov.SetSym(i, j, u.LogCov[i][j])
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		return nil, fmt.Errorf("models: covariance is not positive definite")
	}
	var l mat.TriDense
	chol.LTo(&l)
	out := make([][]float64, n)
	z := make([]float64, k)
	for d := range out {
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		p := make([]float64, k)
		for i := 0; i < k; i++ {
			s := math.Log(u.Values[i])
			for j := 0; j <= i; j++ {
				s += l.At(i, j) * z[j]
			}
			p[i] = math.Exp(s)
		}
		out[d] = p
	}
	return out, nil
}

// SpendUncertainty returns the uncertainty of Gamma-Gamma parameters (p, q, γ).
func SpendUncertainty(m GammaGamma, x, mx []float64) (Uncertainty, error) {
	return SpendUncertaintyWith(m, x, mx, FitOptions{})
}

// SpendUncertaintyWith is SpendUncertainty for a fit made with opt (see PurchaseUncertaintyWith).
func SpendUncertaintyWith(m GammaGamma, x, mx []float64, opt FitOptions) (Uncertainty, error) {
	n := 0.0
	for i := range x {
		if x[i] > 0 && mx[i] > 0 {
			n++
		}
	}
	nll := func(lp []float64) float64 {
		g := GammaGamma{P: math.Exp(lp[0]), Q: math.Exp(lp[1]), Gamma: math.Exp(lp[2])}
		s := 0.0
		for i := range x {
			if x[i] > 0 && mx[i] > 0 {
				s -= g.LogLikelihood(x[i], mx[i])
			}
		}
		return s + n*opt.L2*(g.P*g.P+g.Q*g.Q+g.Gamma*g.Gamma)
	}
	return observedInformation([]string{"p", "q", "gamma"}, []float64{m.P, m.Q, m.Gamma}, nll)
}
