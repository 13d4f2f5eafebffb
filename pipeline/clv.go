package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// CLVInput names a BTYD input for churn clv.
type CLVInput struct {
	Path           string
	Format         string             // transactions | cdnow | summary
	Map            datasets.ColumnMap // transactions only
	CalibrationEnd time.Time          // last day of the calibration period (transactions, cdnow)
	HoldoutEnd     time.Time          // last day of the holdout period (evaluate)
	TimeUnit       string             // day | week (default week)
	Model          string             // bgnbd | mbgnbd | pareto-nbd | bgbb | gamma-gamma
	L2             float64            // L2 penalty (see models.FitOptions); 0 = none
}

// CLVFormats and CLVModels are the accepted values of --format and --model.
var (
	CLVFormats = []string{"transactions", "cdnow", "summary"}
	CLVModels  = append(append([]string(nil), models.PurchaseModelNames...), "gamma-gamma")
)

// Validate reports a usage error in the input description.
func (in CLVInput) Validate(holdout bool) error {
	if in.Path == "" {
		return errors.New("pipeline: --input is required")
	}
	if !slices.Contains(CLVFormats, in.Format) {
		return fmt.Errorf("pipeline: --format %q: want one of %v", in.Format, CLVFormats)
	}
	if !slices.Contains(CLVModels, in.Model) {
		return fmt.Errorf("pipeline: --model %q: want one of %v", in.Model, CLVModels)
	}
	if in.L2 < 0 {
		return fmt.Errorf("pipeline: --l2 must be ≥ 0, got %v", in.L2)
	}
	if in.TimeUnit != "day" && in.TimeUnit != "week" {
		return fmt.Errorf("pipeline: --time-unit %q: want day or week", in.TimeUnit)
	}
	if in.Format != "summary" && in.CalibrationEnd.IsZero() {
		return fmt.Errorf("pipeline: --calibration-end is required with --format %s", in.Format)
	}
	if holdout {
		if in.Format == "summary" {
			return errors.New("pipeline: evaluate needs dated transactions (--format transactions or cdnow), not a summary")
		}
		if !in.HoldoutEnd.After(in.CalibrationEnd) {
			return errors.New("pipeline: --holdout-end must be after --calibration-end")
		}
	}
	return nil
}

func (in CLVInput) unitDays() float64 {
	if in.TimeUnit == "day" {
		return 1
	}
	return 7
}

// CLVData is a BTYD summary: per customer x, t_x, T (BG/BB: x, t_x, n) in
// the input's time unit, mean repeat spend and weight; for dated inputs also
// first purchase days and holdout counts.
type CLVData struct {
	IDs               []string
	X, Tx, T, M, W    []float64
	HasMonetary       bool
	FirstDay          []int64 // days since the epoch; dated inputs only
	XStar             []float64
	NStar             []float64 // BG/BB: holdout opportunities per customer
	RepeatDays        []int64   // every repeat purchase day, calibration and holdout
	DroppedNoHistory  int       // customers first seen on the calibration-end day (T = 0)
	CalibrationEndDay int64
}

// LoadCLVData reads and summarises a BTYD input. With holdout it also counts
// each customer's repeat purchase days in (calibration end, holdout end].
func LoadCLVData(ctx context.Context, in CLVInput, holdout bool) (CLVData, error) {
	if in.Format == "summary" {
		rows, err := datasets.ReadSummary(in.Path)
		if err != nil {
			return CLVData{}, err
		}
		d := CLVData{HasMonetary: true}
		for _, r := range rows {
			d.IDs, d.X, d.Tx, d.T, d.W = append(d.IDs, r.ID), append(d.X, r.X), append(d.Tx, r.Tx), append(d.T, r.T), append(d.W, r.Weight)
			d.M = append(d.M, r.Monetary)
			d.HasMonetary = d.HasMonetary && !math.IsNaN(r.Monetary)
		}
		return d, nil
	}
	var rows []datasets.Transaction
	collect := func(t datasets.Transaction) error { rows = append(rows, t); return nil }
	var err error
	if in.Format == "cdnow" {
		_, err = datasets.ReadCDNOW(ctx, in.Path, collect)
	} else {
		_, err = datasets.ReadTransactionsCSV(ctx, in.Path, datasets.ReadOptions{Map: in.Map}, collect)
	}
	if err != nil {
		return CLVData{}, err
	}
	if len(rows) == 0 {
		return CLVData{}, &datasets.DataError{File: in.Path, Msg: "no transactions"}
	}
	mem := memory.DefaultAllocator
	rec := datasets.TransactionsRecord(mem, rows)
	defer rec.Release()
	rows = nil
	d := CLVData{HasMonetary: true, CalibrationEndDay: in.CalibrationEnd.Unix() / 86400}
	if models.Discrete(in.Model) {
		var end time.Time
		if holdout {
			end = in.HoldoutEnd
		}
		s, err := features.DiscreteHoldout(datasets.RecordChunks([]arrow.RecordBatch{rec}), in.CalibrationEnd, end, int(in.unitDays()))
		if err != nil {
			return d, err
		}
		for i := range s.IDs {
			if s.N[i] == 0 {
				d.DroppedNoHistory++
				continue
			}
			d.IDs, d.X, d.Tx, d.T, d.W, d.M = append(d.IDs, s.IDs[i]), append(d.X, s.X[i]), append(d.Tx, s.Tx[i]), append(d.T, s.N[i]), append(d.W, 1), append(d.M, math.NaN())
			if holdout {
				d.XStar, d.NStar = append(d.XStar, s.XStar[i]), append(d.NStar, s.NStar[i])
			}
		}
		d.HasMonetary = false
		return d, nil
	}
	horizon := 1
	if holdout {
		horizon = int(in.HoldoutEnd.Sub(in.CalibrationEnd).Hours() / 24)
	}
	b, err := features.NewBuilder(features.Config{Cutoff: in.CalibrationEnd, Horizon: horizon, Labelled: holdout})
	if err != nil {
		return d, err
	}
	defer b.Release()
	if err := b.Add(rec); err != nil {
		return d, err
	}
	fr := b.Finish()
	defer fr.Release()
	ids, err := features.Strings(fr, features.CustomerID)
	if err != nil {
		return d, err
	}
	col := func(name string) []float64 {
		v, e := features.Float64s(fr, name)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	x, tx, T, m, first := col(features.BTYDX), col(features.BTYDTx), col(features.BTYDT), col(features.BTYDMeanSpend), col(features.FirstOrderDate)
	var xs []float64
	if holdout {
		xs = col(features.LabelFutureDays)
	}
	if err != nil {
		return d, err
	}
	u := in.unitDays()
	for i := range ids {
		if T[i] == 0 {
			d.DroppedNoHistory++
			continue
		}
		d.IDs = append(d.IDs, ids[i])
		d.X, d.Tx, d.T, d.M, d.W = append(d.X, x[i]), append(d.Tx, tx[i]/u), append(d.T, T[i]/u), append(d.M, m[i]), append(d.W, 1)
		d.FirstDay = append(d.FirstDay, int64(first[i]))
		if holdout {
			d.XStar = append(d.XStar, xs[i])
		}
	}
	if holdout {
		if d.RepeatDays, err = features.RepeatPurchaseDays(datasets.RecordChunks([]arrow.RecordBatch{rec})); err != nil {
			return d, err
		}
	}
	return d, nil
}

// groups compresses the summary into weighted unique (x, t_x, T) groups.
func (d CLVData) groups() []models.RFGroup { return models.CompressWeighted(d.X, d.Tx, d.T, d.W) }

// Param is one named parameter with its 95% interval.
type Param struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	StdErrLog    float64 `json:"se_log"`
	Lower, Upper float64 `json:"-"`
}

// CLVFit is the result of churn clv fit.
type CLVFit struct {
	Model            string
	Params           []Param
	LogLikelihood    float64
	Customers        float64 // weighted customers used in the fit
	DroppedNoHistory int
	TimeUnit         string
	purchase         models.PurchaseModel
	spend            models.GammaGamma
}

// FitCLV fits the input's model and estimates parameter intervals from the
// observed information.
func FitCLV(ctx context.Context, in CLVInput) (CLVFit, CLVData, error) {
	if err := in.Validate(false); err != nil {
		return CLVFit{}, CLVData{}, err
	}
	d, err := LoadCLVData(ctx, in, false)
	if err != nil {
		return CLVFit{}, d, err
	}
	return fitData(in, d)
}

func fitData(in CLVInput, d CLVData) (CLVFit, CLVData, error) {
	res := CLVFit{Model: in.Model, TimeUnit: in.TimeUnit, DroppedNoHistory: d.DroppedNoHistory}
	var u models.Uncertainty
	if in.Model == "gamma-gamma" {
		if !d.HasMonetary {
			return res, d, fmt.Errorf("pipeline: gamma-gamma needs a monetary value per customer: %s has none", in.Path)
		}
		// Gamma-Gamma takes one row per customer: a weight is a count of
		// identical customers and must be whole.
		var xs, ms []float64
		for i := range d.X {
			if d.W[i] != math.Trunc(d.W[i]) {
				return res, d, &datasets.DataError{File: in.Path, Line: i + 2, Field: "weight",
					Msg: fmt.Sprintf("weight %v: gamma-gamma needs whole customer counts", d.W[i])}
			}
			for range int(d.W[i]) {
				xs, ms = append(xs, d.X[i]), append(ms, d.M[i])
			}
			if d.X[i] > 0 && d.M[i] > 0 {
				res.Customers += d.W[i]
			}
		}
		gg, err := models.FitGammaGammaWith(xs, ms, models.FitOptions{L2: in.L2})
		if err != nil {
			return res, d, err
		}
		res.spend, res.LogLikelihood = gg, gg.LogLik
		if u, err = models.SpendUncertaintyWith(gg, xs, ms, models.FitOptions{L2: in.L2}); err != nil {
			return res, d, err
		}
	} else {
		g := d.groups()
		for _, v := range g {
			res.Customers += v.Weight
		}
		m, err := models.FitPurchaseModelWith(in.Model, g, models.FitOptions{L2: in.L2})
		if err != nil {
			return res, d, &datasets.DataError{File: in.Path, Msg: err.Error()}
		}
		res.purchase, res.LogLikelihood = m, models.TotalLogLik(m, g)
		if u, err = models.PurchaseUncertaintyWith(m, g, models.FitOptions{L2: in.L2}); err != nil {
			return res, d, err
		}
	}
	for i, name := range u.Names {
		res.Params = append(res.Params, Param{Name: name, Value: u.Values[i], StdErrLog: u.LogSE[i], Lower: u.Lower[i], Upper: u.Upper[i]})
	}
	return res, d, nil
}

// ParamDraws samples n parameter vectors of a fitted purchase model from the
// asymptotic distribution of its estimates (seeded), for per-customer intervals.
func (f CLVFit) ParamDraws(d CLVData, n int, seed uint64) ([]models.PurchaseModel, error) {
	if f.purchase == nil {
		return nil, errors.New("pipeline: no purchase model")
	}
	u, err := models.PurchaseUncertainty(f.purchase, d.groups())
	if err != nil {
		return nil, err
	}
	draws, err := u.Draws(n, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		return nil, err
	}
	out := make([]models.PurchaseModel, 0, n)
	for _, p := range draws {
		m, err := models.NewPurchaseModel(f.Model, p)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// FrequencyRow compares holdout purchases of customers with the same
// calibration frequency (x = 7 stands for 7 or more).
type FrequencyRow struct {
	X         int     `json:"x"`
	Customers int     `json:"customers"`
	Actual    float64 `json:"actual_mean"`
	Predicted float64 `json:"predicted_mean"`
}

// TrackingPoint is the cumulative repeat transactions at the end of a period.
type TrackingPoint struct {
	Period    int     `json:"period"`
	Actual    float64 `json:"actual"`
	Predicted float64 `json:"predicted"`
}

// trackingCurve is the tracking plot of Fader, Hardie & Lee (2005): per
// period of unitDays from the earliest first purchase to end (a day,
// exclusive), the cohort's cumulative repeat purchase days, actual (from
// repeatDays) and expected by model m from each customer's first purchase
// day. It returns the first day too.
func trackingCurve(m models.PurchaseModel, firstDays, repeatDays []int64, end int64, unitDays float64) ([]TrackingPoint, int64) {
	if len(firstDays) == 0 {
		return nil, 0
	}
	start := slices.Min(firstDays)
	periods := int(math.Ceil(float64(end-start) / unitDays))
	counts := make([]float64, periods+1)
	for _, day := range repeatDays {
		if day >= start && day < end {
			counts[int(float64(day-start)/unitDays)]++
		}
	}
	// Customers grouped by first purchase day, in day order (a fixed summation order).
	births := map[int64]float64{}
	for _, f := range firstDays {
		births[f]++
	}
	days := slices.Sorted(maps.Keys(births))
	var out []TrackingPoint
	cum := 0.0
	for k := 1; k <= periods; k++ {
		cum += counts[k-1]
		t := float64(start) + float64(k)*unitDays // end of period k, in days
		pred := 0.0
		for _, b := range days { // age at the last day of period k, as T = calibration end − first day
			if age := (t - float64(b) - 1) / unitDays; age > 0 {
				pred += births[b] * m.ExpectedPurchasesPopulation(age)
			}
		}
		out = append(out, TrackingPoint{Period: k, Actual: cum, Predicted: pred})
	}
	return out, start
}

// CLVEvaluation is the result of churn clv evaluate.
type CLVEvaluation struct {
	Fit             CLVFit
	HoldoutUnits    float64         `json:"holdout_length"`
	ActualTotal     float64         `json:"holdout_actual"`
	PredictedTotal  float64         `json:"holdout_predicted"`
	MAE             float64         `json:"mae"`
	RMSE            float64         `json:"rmse"`
	ByFrequency     []FrequencyRow  `json:"conditional_by_frequency"`
	Tracking        []TrackingPoint `json:"tracking"`
	CalibrationEnds int             `json:"calibration_periods"`
}

// EvaluateCLV fits on the calibration period and compares predictions with
// the holdout: totals, per-customer error, conditional expectations by
// calibration frequency, and cumulative repeat transactions per period since
// the first customer's first purchase (the tracking plot of Fader, Hardie & Lee 2005).
func EvaluateCLV(ctx context.Context, in CLVInput) (CLVEvaluation, error) {
	if err := in.Validate(true); err != nil {
		return CLVEvaluation{}, err
	}
	if in.Model == "gamma-gamma" {
		return CLVEvaluation{}, fmt.Errorf("pipeline: evaluate supports %v", models.PurchaseModelNames)
	}
	d, err := LoadCLVData(ctx, in, true)
	if err != nil {
		return CLVEvaluation{}, err
	}
	fit, d, err := fitData(in, d)
	if err != nil {
		return CLVEvaluation{}, err
	}
	m := fit.purchase
	u := in.unitDays()
	h := float64(in.HoldoutEnd.Sub(in.CalibrationEnd).Hours()/24) / u
	ev := CLVEvaluation{Fit: fit, HoldoutUnits: h}
	byX := map[int]*FrequencyRow{}
	var se, ae float64
	for i := range d.X {
		horizon := h
		if d.NStar != nil { // BG/BB: each customer's own holdout opportunities
			horizon = d.NStar[i]
		}
		pred := m.ExpectedPurchases(horizon, d.X[i], d.Tx[i], d.T[i])
		ev.ActualTotal += d.XStar[i]
		ev.PredictedTotal += pred
		ae += math.Abs(pred - d.XStar[i])
		se += (pred - d.XStar[i]) * (pred - d.XStar[i])
		k := min(int(d.X[i]), 7)
		r := byX[k]
		if r == nil {
			r = &FrequencyRow{X: k}
			byX[k] = r
		}
		r.Customers++
		r.Actual += d.XStar[i]
		r.Predicted += pred
	}
	n := float64(len(d.X))
	ev.MAE, ev.RMSE = ae/n, math.Sqrt(se/n)
	for k := 0; k <= 7; k++ {
		if r := byX[k]; r != nil {
			r.Actual /= float64(r.Customers)
			r.Predicted /= float64(r.Customers)
			ev.ByFrequency = append(ev.ByFrequency, *r)
		}
	}
	if models.Discrete(in.Model) {
		return ev, nil // opportunities are counted per customer: no calendar tracking
	}
	end := in.HoldoutEnd.Unix()/86400 + 1
	var start int64
	ev.Tracking, start = trackingCurve(m, d.FirstDay, d.RepeatDays, end, u)
	ev.CalibrationEnds = int(math.Ceil(float64(d.CalibrationEndDay+1-start) / u))
	return ev, nil
}
