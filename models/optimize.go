package models

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/optimize"
)

// minimizeLog minimises f over log-parameters from x0 with BFGS. fg, when
// not nil, returns f and writes its gradient in one pass; value and gradient
// are then computed once per point (the optimiser asks for both). A nil fg
// means a central-difference gradient. The objective is divided by |f(x0)| so
// the convergence threshold is relative: a sum over a million customers
// converges like a sum over a thousand. The threshold (1e-8 on the scaled
// gradient) is above floating-point noise, so the optimiser stops on it
// instead of failing line searches; CDNOW estimates still match the
// published digits (see the tests).
//
// With opt.L2 > 0 the objective is f/weight + L2·Σθ² (θ = e^x), the
// penalised mean negative log-likelihood of lifetimes' penalizer_coef.
// opt.Start, when set, replaces x0 (natural-scale parameters).
func minimizeLog(f func([]float64) float64, fg func(g, x []float64) float64, x0 []float64, weight float64, opt FitOptions) ([]float64, error) {
	if len(opt.Start) == len(x0) {
		x0 = make([]float64, len(opt.Start))
		for i, v := range opt.Start {
			x0[i] = math.Log(v)
		}
	}
	if opt.L2 > 0 {
		f0, fg0 := f, fg
		pen := func(x []float64) float64 {
			s := 0.0
			for _, v := range x {
				s += math.Exp(2 * v)
			}
			return opt.L2 * s
		}
		f = func(x []float64) float64 { return f0(x)/weight + pen(x) }
		if fg0 != nil {
			fg = func(g, x []float64) float64 {
				v := fg0(g, x)/weight + pen(x)
				for i := range g {
					g[i] = g[i]/weight + 2*opt.L2*math.Exp(2*x[i])
				}
				return v
			}
		}
	}
	scale := 1.0
	if v := math.Abs(f(x0)); v > 1 && !math.IsInf(v, 0) {
		scale = 1 / v
	}
	safe := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	prob := optimize.Problem{Func: func(x []float64) float64 { return safe(f(x) * scale) }}
	if fg == nil {
		prob.Grad = func(g, x []float64) { fd.Gradient(g, prob.Func, x, &fd.Settings{Formula: fd.Central, Step: 1e-6}) }
	} else {
		var memoX, memoG []float64
		var memoV float64
		eval := func(x []float64) {
			if memoX != nil && slices.Equal(memoX, x) {
				return
			}
			memoX, memoG = slices.Clone(x), make([]float64, len(x))
			memoV = safe(fg(memoG, x) * scale)
			for i := range memoG {
				memoG[i] *= scale
			}
		}
		prob.Func = func(x []float64) float64 { eval(x); return memoV }
		prob.Grad = func(g, x []float64) { eval(x); copy(g, memoG) }
	}
	// Stop on a small gradient, or when 10 iterations improve the objective
	// by less than 1e-11 relative: a likelihood that keeps creeping towards a
	// boundary (e.g. Pareto/NBD with s, β → ∞ when lifetimes are homogeneous)
	// then ends there instead of running on.
	res, err := optimize.Minimize(prob, slices.Clone(x0), &optimize.Settings{GradientThreshold: 1e-8, MajorIterations: 3000,
		Converger: &optimize.FunctionConverge{Relative: 1e-11, Iterations: 10}}, &optimize.BFGS{})
	if res == nil {
		return nil, err
	}
	if math.IsInf(res.F, 0) || math.IsNaN(res.F) {
		return nil, fmt.Errorf("no finite optimum (%v)", err)
	}
	return res.X, nil
}
