package models

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/churn-dev/churn/internal/offheap"
)

// Logit is an L2-regularised logistic regression on standardised features:
// P(y=1|x) = σ(b + Σ_j w_j (x_j − mean_j)/sd_j).
type Logit struct {
	Features  []string  `json:"features"`
	Mean      []float64 `json:"mean"` // training means (also the value imputed for NaN)
	SD        []float64 `json:"sd"`   // training standard deviations (1 for constant columns)
	Coef      []float64 `json:"coef"` // w, on the standardised scale
	Intercept float64   `json:"intercept"`
	Lambda    float64   `json:"lambda"` // L2 penalty per example
}

// LogitConfig configures FitLogit. Zero Lambda means 1e-3; MaxIter 0 means 500.
type LogitConfig struct {
	Lambda  float64 // L2 penalty on w (not on the intercept), scaled per example
	MaxIter int
}

// FitLogit fits a logistic regression to X (n×p row-major) and labels y (0/1)
// by minimising mean log-loss + λ/2‖w‖² with L-BFGS and an analytic gradient.
func FitLogit(names []string, X []float64, y []float64, cfg LogitConfig) (*Logit, error) {
	n, p := len(y), len(names)
	if n == 0 || len(X) != n*p {
		return nil, fmt.Errorf("models: logit: X has %d values, want %d×%d", len(X), n, p)
	}
	if cfg.Lambda == 0 {
		cfg.Lambda = 1e-3
	}
	if cfg.Lambda < 0 {
		return nil, errors.New("models: logit: lambda must be ≥ 0")
	}
	if cfg.MaxIter == 0 {
		cfg.MaxIter = 500
	}
	pos, err := binaryLabels("logit", y)
	if err != nil {
		return nil, err
	}
	m := &Logit{Features: append([]string(nil), names...), Lambda: cfg.Lambda}
	m.Mean, m.SD = standardiser(X, n, p)
	Z, freeZ := m.standardisedChunks(X, n)
	defer freeZ()
	// The loss and its gradient in one pass over the rows, by chunk,
	// summed in order (reproducible whatever the cores); L-BFGS asks for
	// both at each point, so the gradient of the last point is kept.
	var lastBeta, lastGrad []float64
	var lastLoss float64
	eval := func(beta []float64) {
		if lastBeta != nil && slices.Equal(beta, lastBeta) {
			return
		}
		b, w := beta[p], beta[:p]
		grad := make([]float64, p+1)
		loss := chunkLossGrad(Z, y, w, b, grad)
		inv := 1 / float64(n)
		pen := 0.0
		for j, v := range w {
			pen += v * v
			grad[j] = grad[j]*inv + cfg.Lambda*v
		}
		grad[p] *= inv
		lastBeta, lastGrad, lastLoss = slices.Clone(beta), grad, loss*inv+0.5*cfg.Lambda*pen
	}
	prob := optimize.Problem{
		Func: func(beta []float64) float64 { eval(beta); return lastLoss },
		Grad: func(grad, beta []float64) { eval(beta); copy(grad, lastGrad) },
	}
	init := make([]float64, p+1)
	init[p] = math.Log(pos / (float64(n) - pos))
	res, err := optimize.Minimize(prob, init, &optimize.Settings{MajorIterations: cfg.MaxIter, GradientThreshold: 1e-8}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("models: logit: %w", err)
	}
	m.Coef = append([]float64(nil), res.X[:p]...)
	m.Intercept = res.X[p]
	return m, nil
}

// logitChunk is the rows of a chunk of FitLogit's loss (a multiple of
// eight: the kernels' blocks fall as they would over the whole matrix).
const logitChunk = 8192

// standardisedChunks returns the n rows of X standardised, logitChunk rows
// a slice, and the function that frees them. The chunks are views of one
// buffer off the Go heap (internal/offheap), filled by the workers: make
// would clear the whole copy on one core first (half a gigabyte at a
// million rows, most of it the kernel faulting in pages: 1.6 s), and the
// collector's heap goal would count it.
func (m *Logit) standardisedChunks(X []float64, n int) ([][]float64, func()) {
	p := len(m.Mean)
	buf, free := offheap.Floats(n * p)
	Z := make([][]float64, (n+logitChunk-1)/logitChunk)
	parallelEach(len(Z), false, func(c int) {
		lo, hi := c*logitChunk, min((c+1)*logitChunk, n)
		z := buf[lo*p : hi*p : hi*p]
		for i := lo; i < hi; i++ {
			m.standardise(z[(i-lo)*p:(i-lo+1)*p], X[i*p:(i+1)*p])
		}
		Z[c] = z
	})
	return Z, free
}

// chunkLossGrad returns the log-loss of the rows of Z (standardisedChunks)
// under weights w and intercept b, and adds its gradient to grad (p+1): a
// chunk a task, summed in chunk order, so the same numbers whatever the
// cores, and the same as over one matrix cut in logitChunk rows.
func chunkLossGrad(Z [][]float64, y, w []float64, b float64, grad []float64) float64 {
	return chunkedSum(len(y), logitChunk, len(w)+1, grad, func(lo, hi int, g []float64) float64 {
		return logitLossGrad(Z[lo/logitChunk], y[lo:hi], w, b, 0, hi-lo, g)
	})
}

// logitLossGrad returns the log-loss of rows [lo, hi) of Z (row-major, p =
// len(w) columns) under weights w and intercept b, and adds its gradient
// to g (p+1: the weights', then the intercept's). Rows go four at a time:
// their dot products are four independent chains instead of one long one
// (the adds wait on each other, not on memory), while every sum — each
// row's dot product, the loss, each gradient element — takes its terms in
// the same order as one row at a time would, so the results are the same
// to the bit (logitRowLossGrad is that reference, for the tail and tests).
func logitLossGrad(Z, y, w []float64, b float64, lo, hi int, g []float64) float64 {
	if haveAVX512 {
		return logitLossGrad8(Z, y, w, b, lo, hi, g)
	}
	p := len(w)
	l := 0.0
	i := lo
	for ; i+4 <= hi; i += 4 {
		z0, z1, z2, z3 := Z[i*p:(i+1)*p], Z[(i+1)*p:(i+2)*p], Z[(i+2)*p:(i+3)*p], Z[(i+3)*p:(i+4)*p]
		z0, z1, z2, z3 = z0[:len(w)], z1[:len(w)], z2[:len(w)], z3[:len(w)] // no bounds checks below
		s0, s1, s2, s3 := b, b, b, b
		for j, wj := range w {
			s0 += wj * z0[j]
			s1 += wj * z1[j]
			s2 += wj * z2[j]
			s3 += wj * z3[j]
		}
		var r [4]float64
		for k, s := range [4]float64{s0, s1, s2, s3} {
			var lk float64
			lk, r[k] = logitTerm(s, y[i+k])
			l += lk
		}
		g = g[:p+1]
		for j := range w {
			gj := g[j]
			gj += r[0] * z0[j]
			gj += r[1] * z1[j]
			gj += r[2] * z2[j]
			gj += r[3] * z3[j]
			g[j] = gj
		}
		g[p] += r[0]
		g[p] += r[1]
		g[p] += r[2]
		g[p] += r[3]
	}
	return logitRowLossGrad(Z, y, w, b, i, hi, g, l)
}

// logitLossGrad8 is logitLossGrad with the dot products, the loss terms
// and the gradient of eight rows at a time in AVX-512 lanes (logitDots8,
// logitTerms8, logitGrad8): every step is logitRowLossGrad's and every sum
// takes its terms in the same order, so the results are the same to the
// bit.
func logitLossGrad8(Z, y, w []float64, b float64, lo, hi int, g []float64) float64 {
	p := len(w)
	l := 0.0
	i := lo
	var s, r, loss [8]float64
	for ; i+8 <= hi; i += 8 {
		z := Z[i*p : (i+8)*p]
		logitDots8(z, w, b, &s)
		yk := (*[8]float64)(y[i : i+8])
		rare := logitTerms8(&s, yk, &loss, &r)
		for k, lk := range loss {
			if rare>>k&1 != 0 {
				lk, r[k] = logitTerm(s[k], yk[k])
			}
			l += lk
		}
		logitGrad8(z, &r, g[:p])
		for _, rk := range r {
			g[p] += rk
		}
	}
	return logitRowLossGrad(Z, y, w, b, i, hi, g, l)
}

// logitRowLossGrad is logitLossGrad one row at a time, adding to the loss l.
func logitRowLossGrad(Z, y, w []float64, b float64, lo, hi int, g []float64, l float64) float64 {
	p := len(w)
	for i := lo; i < hi; i++ {
		row := Z[i*p : (i+1)*p]
		s := b
		for j, v := range row {
			s += w[j] * v
		}
		lk, r := logitTerm(s, y[i])
		l += lk
		for j, v := range row {
			g[j] += r * v
		}
		g[p] += r
	}
	return l
}

// logitTerm returns log(1+e^s) − y s and σ(s) − y, stably, from one exponential.
func logitTerm(s, y float64) (loss, resid float64) {
	e := math.Exp(-math.Abs(s))
	q := 1 / (1 + e)
	if s < 0 {
		q = e * q
	}
	return max(s, 0) + math.Log1p(e) - y*s, q - y
}

func standardiser(X []float64, n, p int) (mean, sd []float64) {
	// Two passes over the rows in order (a pass per feature would stride
	// through memory): sums and counts, then squared deviations. The
	// columns are cut into a range per core, each summed in row order,
	// so the sums are the same whatever the cores.
	mean, sd = make([]float64, p), make([]float64, p)
	count := make([]int, p)
	ss := make([]float64, p)
	byColumnRanges(p, func(lo, hi int) {
		mu, cnt := rangeMeans(X, n, p, lo, hi)
		sq := make([]float64, hi-lo)
		for i := 0; i < n; i++ {
			for j, v := range X[i*p+lo : i*p+hi] {
				if !math.IsNaN(v) {
					sq[j] += (v - mu[j]) * (v - mu[j])
				}
			}
		}
		copy(mean[lo:hi], mu)
		copy(count[lo:hi], cnt)
		copy(ss[lo:hi], sq)
	})
	for j := range sd {
		sd[j] = 1
		if count[j] > 1 && ss[j] > 0 {
			sd[j] = math.Sqrt(ss[j] / float64(count[j]))
		}
	}
	return mean, sd
}

// standardise writes the standardised row x into dst, imputing NaN with the mean (0 after scaling).
func (m *Logit) standardise(dst, x []float64) {
	for j, v := range x {
		if math.IsNaN(v) {
			dst[j] = 0
			continue
		}
		dst[j] = (v - m.Mean[j]) / m.SD[j]
	}
}

// Predict returns P(y=1) for one row x (len p).
func (m *Logit) Predict(x []float64) float64 {
	s := m.Intercept
	for j, v := range x {
		if !math.IsNaN(v) {
			s += m.Coef[j] * (v - m.Mean[j]) / m.SD[j]
		}
	}
	return sigmoid(s)
}

// PredictAll returns P(y=1) for every row of X (n×p).
func (m *Logit) PredictAll(X []float64) []float64 {
	p := len(m.Coef)
	out := make([]float64, len(X)/p)
	for i := range out {
		out[i] = m.Predict(X[i*p : (i+1)*p])
	}
	return out
}

// Contributions writes into dst the per-feature terms w_j·z_j of row x on the
// log-odds scale (positive pushes towards y=1).
func (m *Logit) Contributions(dst, x []float64) {
	for j, v := range x {
		if math.IsNaN(v) {
			dst[j] = 0
			continue
		}
		dst[j] = m.Coef[j] * (v - m.Mean[j]) / m.SD[j]
	}
}

func sigmoid(s float64) float64 {
	if s >= 0 {
		return 1 / (1 + math.Exp(-s))
	}
	e := math.Exp(s)
	return e / (1 + e)
}

func softplus(s float64) float64 {
	if s > 0 {
		return s + math.Log1p(math.Exp(-s))
	}
	return math.Log1p(math.Exp(s))
}
