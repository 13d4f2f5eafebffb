package models

import "math"

// CLV holds a fitted purchase model and spend model and values customers by
// discounted cash flow.
type CLV struct {
	Purchases PurchaseModel
	Spend     GammaGamma
}

// Value returns the expected discounted value of a customer's purchases over
// horizon time units, in `steps` equal periods, discounting each period's
// expected purchases × conditional expected spend at `rate` per period:
//
//	CLV = Σ_{k=1..steps} (E[Y(t_k)] − E[Y(t_{k−1})]) · E[Z|x, m_x] / (1+rate)^k,  t_k = k·horizon/steps
//
// (the discrete DCF form used by lifetimes' customer_lifetime_value).
func (c CLV) Value(x, tx, T, mx, horizon float64, steps int, rate float64) float64 {
	d, _ := c.discountedPurchases(x, tx, T, horizon, steps, rate)
	return d * c.Spend.ExpectedSpend(x, mx)
}

// discountedPurchases returns Σ_k (E[Y(t_k)] − E[Y(t_{k−1})]) / (1+rate)^k
// and E[Y(horizon)]: the purchase part of CLV, which depends on (x, t_x, T) only.
func (c CLV) discountedPurchases(x, tx, T, horizon float64, steps int, rate float64) (float64, float64) {
	if steps <= 0 || horizon <= 0 {
		return 0, 0
	}
	var tsBuf, esBuf [32]float64 // no allocation for up to 32 steps
	ts, es := tsBuf[:0], esBuf[:0]
	if steps > len(tsBuf) {
		ts, es = make([]float64, 0, steps), make([]float64, 0, steps)
	}
	for k := range steps {
		ts = append(ts, horizon*float64(k+1)/float64(steps))
		es = append(es, 0)
	}
	if mm, ok := c.Purchases.(multiHorizon); ok {
		mm.expectedPurchasesMulti(es, ts, x, tx, T)
	} else {
		for k, t := range ts {
			es[k] = c.Purchases.ExpectedPurchases(t, x, tx, T)
		}
	}
	prev, total := 0.0, 0.0
	for k, e := range es {
		total += (e - prev) / math.Pow(1+rate, float64(k+1))
		prev = e
	}
	return total, prev
}

// multiHorizon is implemented by models that compute E[Y(t)] at several
// horizons faster together than one by one.
type multiHorizon interface {
	expectedPurchasesMulti(dst, ts []float64, x, tx, T float64)
}

// PredictAll writes, for every customer i, P(alive), expected purchases over
// horizon and CLV (see Value) into dst[3i], dst[3i+1], dst[3i+2]. The
// purchase part is computed once per unique (x, t_x, T) and the work is
// spread over all cores in fixed chunks, so results do not depend on the
// core count.
func PredictAll(dst []float64, c CLV, x, tx, T, mx []float64, horizon float64, steps int, rate float64) {
	group, keys := groupRF(x, tx, T)
	per := make([]float64, 3*len(keys)) // P(alive), E[Y(h)], discounted purchases
	chunkedSum(len(keys), 2048, 0, nil, func(lo, hi int, _ []float64) float64 {
		for g := lo; g < hi; g++ {
			k := keys[g]
			per[3*g] = c.Purchases.PAlive(k.X, k.Tx, k.T)
			per[3*g+2], per[3*g+1] = c.discountedPurchases(k.X, k.Tx, k.T, horizon, steps, rate)
		}
		return 0
	})
	for i := range x {
		g := group[i]
		dst[3*i], dst[3*i+1] = per[3*g], per[3*g+1]
		dst[3*i+2] = per[3*g+2] * c.Spend.ExpectedSpend(x[i], mx[i])
	}
}
