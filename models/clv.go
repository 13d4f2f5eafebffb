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
	if steps <= 0 || horizon <= 0 {
		return 0
	}
	spend := c.Spend.ExpectedSpend(x, mx)
	prev, total := 0.0, 0.0
	for k := 1; k <= steps; k++ {
		e := c.Purchases.ExpectedPurchases(horizon*float64(k)/float64(steps), x, tx, T)
		total += (e - prev) * spend / math.Pow(1+rate, float64(k))
		prev = e
	}
	return total
}
