package pipeline

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/internal/testutil"
	"github.com/churn-dev/churn/models"
)

func day(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

func closeTo(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", name, got, want, tol)
	}
}

// CDNOW calibration/holdout (../shared/data/README.md): calibration end
// 1997-09-30, holdout to 1998-06-30 (39 weeks); BG/NBD r 0.242593, alpha
// 4.413532, a 0.792886, b 2.425752 (lifetimes), LL −9582.43; Σx = 2457,
// Σx* = 1882 actual, Σ E[Y(39)] = 1653.42; BTYD's cumulative tracking series.
func TestEvaluateCDNOW(t *testing.T) {
	in := CLVInput{Path: testutil.SharedData(t, "cdnow/CDNOW_sample.txt"), Format: "cdnow", Model: "bgnbd", TimeUnit: "week",
		CalibrationEnd: day("1997-09-30"), HoldoutEnd: day("1998-06-30")}
	ev, err := EvaluateCLV(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Fit.Params
	closeTo(t, "r", p[0].Value, 0.242593, 3e-4)
	closeTo(t, "alpha", p[1].Value, 4.413532, 5e-3)
	closeTo(t, "a", p[2].Value, 0.792886, 2e-3)
	closeTo(t, "b", p[3].Value, 2.425752, 5e-3)
	closeTo(t, "loglik", ev.Fit.LogLikelihood, -9582.43, 0.01)
	closeTo(t, "customers", ev.Fit.Customers, 2357, 0)
	closeTo(t, "holdout weeks", ev.HoldoutUnits, 39, 1e-12)
	closeTo(t, "Σ x*", ev.ActualTotal, 1882, 0)
	closeTo(t, "Σ E[Y(39)]", ev.PredictedTotal, 1653.42, 0.5)
	if ev.ByFrequency[0].X != 0 || ev.ByFrequency[0].Customers != 1411 {
		t.Errorf("x = 0 row = %+v, want 1411 customers", ev.ByFrequency[0])
	}

	// The actual tracking series equals BTYD's cu.tracking week by week.
	f, err := os.Open(testutil.SharedData(t, "cdnow/btyd_cdnowSummary_cu_tracking.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, _ := csv.NewReader(f).ReadAll()
	if len(ev.Tracking) != 78 {
		t.Fatalf("tracking has %d weeks, want 78", len(ev.Tracking))
	}
	for _, r := range recs[1:] {
		w, _ := strconv.Atoi(r[0])
		want, _ := strconv.ParseFloat(r[1], 64)
		if got := ev.Tracking[w-1].Actual; got != want {
			t.Errorf("week %d: cumulative repeat transactions %v, BTYD %v", w, got, want)
		}
	}
	if ev.CalibrationEnds != 39 {
		t.Errorf("calibration periods = %d, want 39", ev.CalibrationEnds)
	}
	// In the calibration weeks the fitted model tracks the data closely
	// (a sanity bound, not a published number: within 3% at week 39).
	if c := ev.Tracking[38]; math.Abs(c.Predicted-c.Actual) > 0.03*c.Actual {
		t.Errorf("week 39: predicted %.1f vs actual %.1f", c.Predicted, c.Actual)
	}
}

// The same three CDNOW files give the same fit whatever their format.
func TestCLVFormatsAgree(t *testing.T) {
	fit := func(path, format string) CLVFit {
		f, _, err := FitCLV(context.Background(), CLVInput{Path: testutil.SharedData(t, path), Format: format, Model: "bgnbd",
			TimeUnit: "week", CalibrationEnd: day("1997-09-30"), Map: nil})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := fit("cdnow/CDNOW_sample.txt", "cdnow")
	b := fit("cdnow/btyd_cdnowSummary_cbs.csv", "summary")
	c := fit("cdnow/clvtools_cdnow.csv", "transactions")
	for i := range a.Params {
		closeTo(t, "summary "+a.Params[i].Name, b.Params[i].Value, a.Params[i].Value, 1e-4*a.Params[i].Value)
		closeTo(t, "clvtools "+a.Params[i].Name, c.Params[i].Value, a.Params[i].Value, 1e-4*a.Params[i].Value)
	}
}

// Reference: lifetimes docs/Quickstart.md (CDNOW summary with monetary value,
// rounded to 2 decimals): BG/NBD standard errors r 0.012557, alpha 0.378221,
// a 0.185719, b 0.705345 (full-precision data); Gamma-Gamma p 6.25, q 3.74,
// v 15.45 on the 946 returning customers; conditional expected average profit
// of customers 1, 2, 3: 24.658619, 18.911489, 35.170981; and
// customer_lifetime_value(time=12, discount_rate=0.01, freq="D"), i.e. twelve
// steps of 30 time units (weeks here), for customers 1, 2, 3:
// 140.096211, 18.943467, 38.180574.
func TestLifetimesQuickstartCLV(t *testing.T) {
	rows, err := datasets.ReadSummary(testutil.SharedData(t, "cdnow/cdnow_customers_summary_with_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var x, tx, T, m []float64
	for _, r := range rows {
		x, tx, T, m = append(x, r.X), append(tx, r.Tx), append(T, r.T), append(m, r.Monetary)
	}
	groups := models.CompressRF(x, tx, T)
	bg, err := models.FitBGNBD(groups)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := models.FitGammaGamma(x, m)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "p", gg.P, 6.25, 0.005)
	closeTo(t, "q", gg.Q, 3.74, 0.005)
	closeTo(t, "v", gg.Gamma, 15.45, 0.005)
	clv := models.CLV{Purchases: bg, Spend: gg}
	for i, want := range []struct{ spend, clv float64 }{{24.658619, 140.096211}, {18.911489, 18.943467}, {35.170981, 38.180574}} {
		closeTo(t, "E[spend]", gg.ExpectedSpend(x[i], m[i]), want.spend, 1e-4*want.spend)
		closeTo(t, "CLV", clv.Value(x[i], tx[i], T[i], m[i], 360, 12, 0.01), want.clv, 1e-4*want.clv)
	}

	// Standard errors on the natural scale (delta method: se(θ) = θ · se(ln θ)).
	cbs, _, err := FitCLV(context.Background(), CLVInput{Path: testutil.SharedData(t, "cdnow/btyd_cdnowSummary_cbs.csv"), Format: "summary", Model: "bgnbd", TimeUnit: "week"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0.012557, 0.378221, 0.185719, 0.705345} {
		p := cbs.Params[i]
		closeTo(t, "se("+p.Name+")", p.Value*p.StdErrLog, want, 0.005*want)
	}
}

// Predictions: Pareto/NBD P(alive) of the first three CDNOW customers
// (0.8691, 0.1679, 0.2951, ../shared/data/README.md), intervals that contain
// the estimates, and the same numbers for the same seed.
func TestCLVPredict(t *testing.T) {
	in := CLVInput{Path: testutil.SharedData(t, "cdnow/btyd_cdnowSummary_cbs.csv"), Format: "summary", Model: "pareto-nbd", TimeUnit: "week"}
	fit, d, err := FitCLV(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	opt := CLVPredictOptions{Horizon: 39, DiscountRate: 0.1, Draws: 50, Seed: 7}
	ps, err := fit.Predict(d, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0.8691, 0.1679, 0.2951} {
		closeTo(t, "P(alive)", ps[i].PAlive, want, 6e-4)
	}
	total := 0.0
	for _, p := range ps {
		total += p.ExpectedPurchases
		if !(p.PAliveLo <= p.PAlive && p.PAlive <= p.PAliveHi) || !(p.CLVLo <= p.CLV && p.CLV <= p.CLVHi) || !(p.PNoPurchase > 0 && p.PNoPurchase < 1) {
			t.Fatalf("customer %s: %+v", p.ID, p)
		}
	}
	// Σ E[Y(39)] against the holdout's 1,882 actual repeat purchases: the
	// Pareto/NBD under-predicts CDNOW like BG/NBD does (1653 there).
	if total < 1500 || total > 1900 {
		t.Errorf("Σ E[Y(39)] = %.1f", total)
	}
	again, _ := fit.Predict(d, opt)
	if fmt.Sprint(PredictionRows(again)) != fmt.Sprint(PredictionRows(ps)) {
		t.Error("the same seed gave different predictions")
	}
}

// BG/BB on CDNOW with weekly opportunities: every customer is kept (first
// purchases are in Q1 1997), and the holdout count can only be below the
// 1,882 repeat purchase days, several of which fall in one week.
func TestEvaluateBGBBCDNOW(t *testing.T) {
	in := CLVInput{Path: testutil.SharedData(t, "cdnow/CDNOW_sample.txt"), Format: "cdnow", Model: "bgbb", TimeUnit: "week",
		CalibrationEnd: day("1997-09-30"), HoldoutEnd: day("1998-06-30")}
	ev, err := EvaluateCLV(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Fit.Customers != 2357 || ev.Tracking != nil {
		t.Errorf("customers %v, tracking %d points", ev.Fit.Customers, len(ev.Tracking))
	}
	if !(ev.ActualTotal > 1600 && ev.ActualTotal < 1882) {
		t.Errorf("holdout opportunities with a purchase = %v", ev.ActualTotal)
	}
	if math.Abs(ev.PredictedTotal-ev.ActualTotal) > 0.25*ev.ActualTotal {
		t.Errorf("predicted %v vs actual %v", ev.PredictedTotal, ev.ActualTotal)
	}
}

// A year's horizon is twelve monthly cash flows whose discounting adds up
// to the annual rate over the year's 365 of 365.25 days; a horizon shorter
// than half a month is one step.
func TestMonthlyCashFlows(t *testing.T) {
	steps, rate := monthlyCashFlows(365, 0.1)
	if steps != 12 || math.Abs(math.Pow(1+rate, 12)-math.Pow(1.1, 365/365.25)) > 1e-12 {
		t.Errorf("365 days at 10%%: %d steps at %v", steps, rate)
	}
	if steps, rate := monthlyCashFlows(10, 0.1); steps != 1 || math.Abs(rate-(math.Pow(1.1, 10/365.25)-1)) > 1e-15 {
		t.Errorf("10 days: %d steps at %v", steps, rate)
	}
}
