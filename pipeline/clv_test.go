package pipeline

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/churn-dev/churn/internal/testutil"
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
