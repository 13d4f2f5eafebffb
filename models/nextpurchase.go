package models

import (
	"fmt"
	"math"
)

// MedianNextPurchaseAll writes, for every customer i, the median time to
// their next purchase — the t at which P(Y(t) ≥ 1 | x, t_x, T) reaches one
// half, the same quantity as MedianTimeToNextPurchase — or NaN when that
// probability stays below one half up to limit (a customer more likely gone
// than not, or a very slow buyer). Customers are grouped like PredictAll and
// the work is spread over all cores.
//
// Every supported model splits P(no purchase in t) = 1 − p + p·Q(t) with
// p = P(alive | x, t_x, T) and Q(t) = P(no purchase in t | alive at T, x, T)
// (see ProbNoPurchase), so the median solves Q(t) = 1 − 1/(2p):
//   - BG/NBD and MBG/NBD: Q(t) = (A/(A+t))^R with A = α+T, R = r+x, inverted
//     in closed form, t = A·(q^(−1/R) − 1).
//   - Pareto/NBD: Q is tabulated once per unique (x, T) on geometric panels
//     towards 0 (Gauss-Legendre, as ProbNoPurchase) and each customer's level
//     is found in the table and polished by safeguarded Newton steps, using
//     dQ/dt = −R/(A+t)·(A/(A+t))^R·(B/(B+t))^s.
//
// BG/BB (discrete opportunities) is not supported. pred, when not nil, is
// PredictAll's output for these customers with m as the purchase model: its
// P(alive)s are taken instead of computed again.
func MedianNextPurchaseAll(dst []float64, m PurchaseModel, x, tx, T, pred []float64, limit float64) error {
	return MedianNextPurchaseIndexed(dst, m, IndexRF(x, tx, T), pred, limit)
}

// MedianNextPurchaseIndexed is MedianNextPurchaseAll for the customers of ix.
func MedianNextPurchaseIndexed(dst []float64, m PurchaseModel, ix *RFIndex, pred []float64, limit float64) error {
	switch m.(type) {
	case BGNBD, MBGNBD, ParetoNBD:
	default:
		return fmt.Errorf("models: the median time to the next purchase is not available for %s", m.Name())
	}
	group, keys := ix.of, ix.keys
	per := make([]float64, len(keys))
	var alive []float64 // each group's P(alive), from pred
	if pred != nil {
		alive = make([]float64, len(keys))
		for i, g := range group {
			alive[g] = pred[3*i]
		}
	}
	pn, isPareto := m.(ParetoNBD)
	var sub []int32
	var tables []noPurchaseTable
	if isPareto {
		var subKeys []RFGroup
		sub, subKeys = ix.byXT()
		tables = make([]noPurchaseTable, len(subKeys))
		parallelFor(len(subKeys), func(j int) {
			tables[j] = pn.noPurchaseTable(subKeys[j].X, subKeys[j].T, limit)
		})
	}
	parallelFor(len(keys), func(g int) {
		k := keys[g]
		var p float64
		if alive != nil {
			p = alive[g]
		} else {
			p = m.PAlive(k.X, k.Tx, k.T)
		}
		per[g] = math.NaN()
		if p <= 0.5 || limit <= 0 {
			return
		}
		q := 1 - 0.5/p
		switch m := m.(type) {
		case BGNBD:
			per[g] = gammaPoissonQuantile(m.Alpha+k.T, m.R+k.X, q, limit)
		case MBGNBD:
			per[g] = gammaPoissonQuantile(m.Alpha+k.T, m.R+k.X, q, limit)
		case ParetoNBD:
			per[g] = m.solveNoPurchase(&tables[sub[g]], k.X, k.T, q, limit)
		}
	})
	for i, g := range group {
		dst[i] = per[g]
	}
	return nil
}

// gammaPoissonQuantile solves (A/(A+t))^R = q for t, NaN beyond limit.
func gammaPoissonQuantile(A, R, q, limit float64) float64 {
	t := A * math.Expm1(-math.Log(q)/R)
	if t > limit {
		return math.NaN()
	}
	return t
}

// noPurchaseGrid is the number of geometric panels of a Pareto/NBD table.
const noPurchaseGrid = 48

// noPurchaseGridPoint returns the j-th grid point: 0, then limit·2^(j−G).
func noPurchaseGridPoint(j int, limit float64) float64 {
	if j == 0 {
		return 0
	}
	return math.Ldexp(limit, j-noPurchaseGrid)
}

// paretoAlive is a Pareto/NBD customer alive at T with x purchases:
// λ ~ Gamma(R, A), μ ~ Gamma(s, B) with R = r+x, A = α+T, B = β+T.
type paretoAlive struct{ A, R, B, s float64 }

func (m ParetoNBD) alive(x, T float64) paretoAlive {
	return paretoAlive{A: m.Alpha + T, R: m.R + x, B: m.Beta + T, s: m.S}
}

// surv is P(no purchase and no death in u) = (A/(A+u))^R (B/(B+u))^s.
func (q paretoAlive) surv(u float64) float64 {
	return math.Exp(q.R*math.Log(q.A/(q.A+u)) + q.s*math.Log(q.B/(q.B+u)))
}

// survNodes sets u to the 8-point Gauss-Legendre nodes of [a, b] and sv
// to surv at them, and returns the half width: with AVX-512 the eight at
// once (survs8, the same bits), the lanes it leaves one at a time.
func (q paretoAlive) survNodes(a, b float64, u, sv *[8]float64) (h float64) {
	h, c := (b-a)/2, (a+b)/2
	for i, x := range glNodes {
		u[i] = c + h*x
	}
	rare := uint8(0xff)
	if haveAVX512 {
		rare = survs8(&q, u, sv)
	}
	for i := range u {
		if rare>>i&1 != 0 {
			sv[i] = q.surv(u[i])
		}
	}
	return h
}

// integral is ∫_a^b s/(B+u)·surv(u) du (death before any purchase) by
// 8-point Gauss-Legendre.
func (q paretoAlive) integral(a, b float64) float64 {
	var u, sv [8]float64
	h := q.survNodes(a, b, &u, &sv)
	sum := 0.0
	for i := range u {
		sum += glWeights[i] * q.s / (q.B + u[i]) * sv[i]
	}
	return h * sum
}

// noPurchaseTable is Q at the grid points of a customer's (x, T): its
// integral part I_j = ∫_0^{t_j} s/(B+u)·surv(u) du, and Q_j = surv(t_j) +
// I_j. Both depend on x and T only, so the customers of one (x, T) share
// them whatever their t_x.
type noPurchaseTable struct {
	I, Q [noPurchaseGrid + 1]float64
}

func (m ParetoNBD) noPurchaseTable(x, T, limit float64) noPurchaseTable {
	q := m.alive(x, T)
	var tab noPurchaseTable
	for j := 1; j <= noPurchaseGrid; j++ {
		tj := noPurchaseGridPoint(j, limit)
		tab.I[j] = tab.I[j-1] + q.integral(noPurchaseGridPoint(j-1, limit), tj)
		tab.Q[j] = q.surv(tj) + tab.I[j]
	}
	return tab
}

// solveNoPurchase finds t in [0, limit] with Q(t) = level from the table
// of the customer's (x, T), or NaN when Q(limit) > level.
func (m ParetoNBD) solveNoPurchase(tab *noPurchaseTable, x, T, level, limit float64) float64 {
	q := m.alive(x, T)
	if tab.Q[noPurchaseGrid] > level {
		return math.NaN()
	}
	j := 1 // Q is decreasing: the first grid point at or below the level
	for tab.Q[j] > level {
		j++
	}
	lo, hi := noPurchaseGridPoint(j-1, limit), noPurchaseGridPoint(j, limit)
	a, b := lo, hi // Q(a) > level ≥ Q(b)
	t := (a + b) / 2
	for range 100 {
		sv := q.surv(t)
		v := sv + tab.I[j-1] + q.integral(lo, t) - level
		if v > 0 {
			a = t
		} else {
			b = t
		}
		if b-a <= 1e-12*b {
			break
		}
		next := t + v/(q.R/(q.A+t)*sv) // Newton: dQ/dt = −R/(A+t)·surv
		if !(next > a && next < b) {
			next = (a + b) / 2
		}
		if math.Abs(next-t) <= 1e-13*t {
			return next
		}
		t = next
	}
	return (a + b) / 2
}
