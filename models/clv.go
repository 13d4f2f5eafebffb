package models

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
	if m, ok := c.Purchases.(aliveSplit); ok {
		p := c.Purchases.PAlive(x, tx, T)
		d, e := discountedIfAlive(m, x, T, horizon, steps, rate)
		return p * d, p * e
	}
	return discountSteps(horizon, steps, rate, func(dst, ts []float64) {
		for k, t := range ts {
			dst[k] = c.Purchases.ExpectedPurchases(t, x, tx, T)
		}
	})
}

// discountedIfAlive is discountedPurchases given that the customer is alive
// at T, which depends on (x, T) only.
func discountedIfAlive(m aliveSplit, x, T, horizon float64, steps int, rate float64) (float64, float64) {
	return discountSteps(horizon, steps, rate, func(dst, ts []float64) {
		m.expectedIfAliveMulti(dst, ts, x, T)
	})
}

// discountSteps evaluates cumulative expected purchases at the step ends
// t_k = k·horizon/steps through fill and returns their discounted increments'
// sum and the last value.
func discountSteps(horizon float64, steps int, rate float64, fill func(dst, ts []float64)) (float64, float64) {
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
	fill(es, ts)
	prev, total, v := 0.0, 0.0, 1.0
	for _, e := range es {
		v /= 1 + rate
		total += (e - prev) * v
		prev = e
	}
	return total, prev
}

// aliveSplit is implemented by the models whose conditional expectation
// factors as E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) · E[Y(t) | alive at
// T, x, T]: given that the customer is alive, the future depends on t_x no
// more. Predictions then evaluate the expensive second factor once per
// unique (x, T) instead of once per unique (x, t_x, T).
type aliveSplit interface {
	expectedIfAliveMulti(dst, ts []float64, x, T float64)
}

// expectedPurchases is ExpectedPurchases of an aliveSplit model.
func expectedPurchases[M interface {
	aliveSplit
	PAlive(x, tx, T float64) float64
}](m M, t, x, tx, T float64) float64 {
	if t <= 0 {
		return 0
	}
	var e [1]float64
	m.expectedIfAliveMulti(e[:], []float64{t}, x, T)
	return m.PAlive(x, tx, T) * e[0]
}

// PredictAll writes, for every customer i, P(alive), expected purchases over
// horizon and CLV (see Value) into dst[3i], dst[3i+1], dst[3i+2]. The
// purchase part is computed once per unique (x, t_x, T) — for the models
// that split at P(alive), its expensive half once per unique (x, T) — and
// the work is spread over all cores in fixed chunks, so results do not
// depend on the core count.
func PredictAll(dst []float64, c CLV, x, tx, T, mx []float64, horizon float64, steps int, rate float64) {
	PredictAllIndexed(dst, c, IndexRF(x, tx, T), x, mx, horizon, steps, rate)
}

// PredictAllIndexed is PredictAll for the customers of ix, whose
// frequencies x and mean spends mx are given.
func PredictAllIndexed(dst []float64, c CLV, ix *RFIndex, x, mx []float64, horizon float64, steps int, rate float64) {
	group, keys := ix.of, ix.keys
	per := make([]float64, 3*len(keys)) // P(alive), E[Y(h)], discounted purchases
	if m, ok := c.Purchases.(aliveSplit); ok {
		sub, subKeys := ix.byXT()
		alive := make([]float64, 2*len(subKeys)) // discounted, E[Y(h)] if alive
		parallelFor(len(subKeys), func(j int) {
			k := subKeys[j]
			alive[2*j], alive[2*j+1] = discountedIfAlive(m, k.X, k.T, horizon, steps, rate)
		})
		parallelFor(len(keys), func(g int) {
			k := keys[g]
			p := c.Purchases.PAlive(k.X, k.Tx, k.T)
			per[3*g], per[3*g+1], per[3*g+2] = p, p*alive[2*sub[g]+1], p*alive[2*sub[g]]
		})
	} else {
		parallelFor(len(keys), func(g int) {
			k := keys[g]
			per[3*g] = c.Purchases.PAlive(k.X, k.Tx, k.T)
			per[3*g+2], per[3*g+1] = c.discountedPurchases(k.X, k.Tx, k.T, horizon, steps, rate)
		})
	}
	for i := range x {
		g := group[i]
		dst[3*i], dst[3*i+1] = per[3*g], per[3*g+1]
		dst[3*i+2] = per[3*g+2] * c.Spend.ExpectedSpend(x[i], mx[i])
	}
}

// parallelFor runs body(i) for i in [0, n) on all cores in fixed chunks.
// parallelRange calls body on consecutive ranges of [0, n) in parallel:
// for hot loops, where a call per element would cost more than the work.
func parallelRange(n int, body func(lo, hi int)) {
	chunkedSum(n, 8192, 0, nil, func(lo, hi int, _ []float64) float64 {
		body(lo, hi)
		return 0
	})
}

func parallelFor(n int, body func(i int)) {
	chunkedSum(n, 2048, 0, nil, func(lo, hi int, _ []float64) float64 {
		for i := lo; i < hi; i++ {
			body(i)
		}
		return 0
	})
}
