package pipeline

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/churn-dev/churn/models"
)

// CLVPredictOptions configures per-customer predictions.
type CLVPredictOptions struct {
	Horizon      float64 // in the fit's time unit (opportunities for BG/BB); required
	DiscountRate float64 // annual rate of the monthly CLV cash flows
	Draws        int     // parameter draws for the 95% intervals; 0 means none
	Seed         uint64  // seed of the draws
}

// CLVPrediction is one customer's predictions. NaN marks a value that is not
// defined (no monetary data, a model without the quantity, a median never reached).
type CLVPrediction struct {
	ID                 string
	X, Tx, T           float64
	PAlive, PAliveLo   float64
	PAliveHi           float64
	ExpectedPurchases  float64
	PNoPurchase        float64
	MedianNextPurchase float64 // time units until P(a purchase) reaches ½
	ExpectedSpend      float64
	CLV, CLVLo, CLVHi  float64
}

// PredictionColumns is the header of `churn clv fit --predictions`.
var PredictionColumns = []string{"customer_id", "x", "t_x", "T", "p_alive", "p_alive_lo95", "p_alive_hi95",
	"expected_purchases", "p_no_purchase", "median_time_to_next_purchase", "expected_spend", "clv", "clv_lo95", "clv_hi95"}

// monthlyCashFlows splits a CLV horizon of horizonDays into monthly cash
// flows (a month of 365.25/12 = 30.4375 days, at least one step) and
// returns their count and the discount rate of one step from the annual
// rate.
func monthlyCashFlows(horizonDays, annualRate float64) (steps int, stepRate float64) {
	steps = max(1, int(math.Round(horizonDays/30.4375)))
	return steps, math.Pow(1+annualRate, horizonDays/float64(steps)/365.25) - 1
}

// Predict computes every customer's predictions over the horizon. Intervals
// come from Draws parameter vectors of the purchase model (and of
// Gamma-Gamma, when the data have spend), drawn from the asymptotic
// distribution of the estimates with a PCG source seeded by Seed.
func (f CLVFit) Predict(d CLVData, opt CLVPredictOptions) ([]CLVPrediction, error) {
	if f.purchase == nil {
		return nil, errors.New("pipeline: predictions need a purchase model (not gamma-gamma)")
	}
	if !(opt.Horizon > 0) {
		return nil, errors.New("pipeline: --horizon must be > 0")
	}
	unitDays := 7.0
	if f.TimeUnit == "day" {
		unitDays = 1
	}
	steps, stepRate := monthlyCashFlows(opt.Horizon*unitDays, opt.DiscountRate)
	var spend *models.GammaGamma
	var spendU models.Uncertainty
	if d.HasMonetary && !models.Discrete(f.Model) {
		gg, err := models.FitGammaGamma(d.X, d.M)
		if err == nil {
			spend = &gg
			spendU, err = models.SpendUncertainty(gg, d.X, d.M)
		}
		if err != nil {
			return nil, err
		}
	}
	n := len(d.X)
	var ix *models.RFIndex // continuous time: the customers grouped once, for the model and every draw
	if !models.Discrete(f.Model) {
		ix = models.IndexRF(d.X, d.Tx, d.T)
	}
	run := func(m models.PurchaseModel, gg *models.GammaGamma) []float64 {
		out := make([]float64, 3*n)
		if models.Discrete(f.Model) {
			for i := range n {
				out[3*i], out[3*i+1], out[3*i+2] = m.PAlive(d.X[i], d.Tx[i], d.T[i]), m.ExpectedPurchases(opt.Horizon, d.X[i], d.Tx[i], d.T[i]), math.NaN()
			}
			return out
		}
		c := models.CLV{Purchases: m, Spend: models.GammaGamma{P: 1, Q: 2, Gamma: 1}}
		if gg != nil {
			c.Spend = *gg
		}
		models.PredictAllIndexed(out, c, ix, d.X, d.M, opt.Horizon, steps, stepRate)
		if gg == nil {
			for i := range n {
				out[3*i+2] = math.NaN()
			}
		}
		return out
	}
	main := run(f.purchase, spend)
	median := make([]float64, n)
	if ix == nil || models.MedianNextPurchaseIndexed(median, f.purchase, ix, main, 10*opt.Horizon) != nil {
		for i := range median { // BG/BB: one customer at a time, in opportunities
			median[i] = math.NaN()
			if t, ok, _ := models.MedianTimeToNextPurchase(f.purchase, d.X[i], d.Tx[i], d.T[i], 10*opt.Horizon); ok {
				median[i] = t
			}
		}
	}
	res := make([]CLVPrediction, n)
	for i := range n {
		p := CLVPrediction{ID: d.IDs[i], X: d.X[i], Tx: d.Tx[i], T: d.T[i], PAlive: main[3*i], ExpectedPurchases: main[3*i+1], CLV: main[3*i+2],
			PAliveLo: math.NaN(), PAliveHi: math.NaN(), CLVLo: math.NaN(), CLVHi: math.NaN(), ExpectedSpend: math.NaN(), MedianNextPurchase: median[i]}
		if spend != nil {
			p.ExpectedSpend = spend.ExpectedSpend(d.X[i], d.M[i])
		}
		var err error
		if p.PNoPurchase, err = models.ProbNoPurchase(f.purchase, opt.Horizon, d.X[i], d.Tx[i], d.T[i]); err != nil {
			p.PNoPurchase = math.NaN()
		}
		res[i] = p
	}
	if opt.Draws <= 0 {
		return res, nil
	}
	draws, err := f.ParamDraws(d, opt.Draws, opt.Seed)
	if err != nil {
		return nil, err
	}
	var spendDraws [][]float64
	if spend != nil {
		if spendDraws, err = spendU.Draws(opt.Draws, rand.New(rand.NewPCG(opt.Seed, opt.Seed+1))); err != nil {
			return nil, err
		}
	}
	pa, cl := make([][]float64, n), make([][]float64, n)
	for k, m := range draws {
		var gg *models.GammaGamma
		if spend != nil {
			gg = &models.GammaGamma{P: spendDraws[k][0], Q: spendDraws[k][1], Gamma: spendDraws[k][2]}
		}
		out := run(m, gg)
		for i := range n {
			pa[i] = append(pa[i], out[3*i])
			cl[i] = append(cl[i], out[3*i+2])
		}
	}
	for i := range n {
		res[i].PAliveLo, res[i].PAliveHi = quantiles95(pa[i])
		if spend != nil {
			res[i].CLVLo, res[i].CLVHi = quantiles95(cl[i])
		}
	}
	return res, nil
}

// quantiles95 returns the 2.5% and 97.5% empirical quantiles (linear interpolation).
func quantiles95(v []float64) (float64, float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 {
		h := p * float64(len(s)-1)
		lo := int(math.Floor(h))
		if lo+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
	}
	return q(0.025), q(0.975)
}

// PredictionRows formats predictions for CSV; undefined values are empty.
func PredictionRows(ps []CLVPrediction) [][]string {
	f := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 8, 64)
	}
	rows := make([][]string, len(ps))
	for i, p := range ps {
		rows[i] = []string{p.ID, f(p.X), f(p.Tx), f(p.T), f(p.PAlive), f(p.PAliveLo), f(p.PAliveHi), f(p.ExpectedPurchases),
			f(p.PNoPurchase), f(p.MedianNextPurchase), f(p.ExpectedSpend), f(p.CLV), f(p.CLVLo), f(p.CLVHi)}
	}
	return rows
}
