package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// MarshalJSON writes the contract of `churn clv fit --json` (DESIGN.md):
// {"model", "params" (paper names, in paper order), "log_likelihood",
// "customers"}, plus time_unit, 95% intervals and standard errors of the
// log-parameters.
func (f CLVFit) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	obj := func(field func(p Param) any) {
		b.WriteByte('{')
		for i, p := range f.Params {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(p.Name)
			v, _ := json.Marshal(field(p))
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
	}
	fmt.Fprintf(&b, `{"model":%q,"params":`, f.Model)
	obj(func(p Param) any { return p.Value })
	ll, _ := json.Marshal(f.LogLikelihood)
	fmt.Fprintf(&b, `,"log_likelihood":%s,"customers":%v,"time_unit":%q,"intervals95":`, ll, f.Customers, f.TimeUnit)
	obj(func(p Param) any { return [2]float64{p.Lower, p.Upper} })
	b.WriteString(`,"se_log":`)
	obj(func(p Param) any { return p.StdErrLog })
	fmt.Fprintf(&b, `,"dropped_no_history":%d}`, f.DroppedNoHistory)
	return b.Bytes(), nil
}

// WriteText prints the fit as a table.
func (f CLVFit) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s\ncustomers\t%v\nlog-likelihood\t%.4f\ntime unit\t%s\n\n", f.Model, f.Customers, f.LogLikelihood, f.TimeUnit)
	fmt.Fprintln(tw, "parameter\testimate\t95% interval")
	for _, p := range f.Params {
		fmt.Fprintf(tw, "%s\t%.6g\t[%.6g, %.6g]\n", p.Name, p.Value, p.Lower, p.Upper)
	}
	if f.DroppedNoHistory > 0 {
		fmt.Fprintf(tw, "\n%d customers first seen on the calibration-end day were left out (T = 0 carries no information)\n", f.DroppedNoHistory)
	}
	return tw.Flush()
}

// MarshalJSON writes the evaluation with the fit nested under "fit".
func (e CLVEvaluation) MarshalJSON() ([]byte, error) {
	type plain CLVEvaluation
	fit, err := json.Marshal(e.Fit)
	if err != nil {
		return nil, err
	}
	rest, err := json.Marshal(plain(e))
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"fit":`), fit...), append([]byte{','}, rest[1:]...)...), nil
}

// WriteText prints the evaluation as tables.
func (e CLVEvaluation) WriteText(w io.Writer) error {
	if err := e.Fit.WriteText(w); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nholdout (%.4g %ss)\tactual\tpredicted\n", e.HoldoutUnits, e.Fit.TimeUnit)
	fmt.Fprintf(tw, "repeat transactions\t%.0f\t%.2f\nper-customer MAE\t\t%.4f\nper-customer RMSE\t\t%.4f\n", e.ActualTotal, e.PredictedTotal, e.MAE, e.RMSE)
	fmt.Fprintln(tw, "\ncalibration x\tcustomers\tholdout actual mean\tpredicted mean")
	for _, r := range e.ByFrequency {
		label := fmt.Sprint(r.X)
		if r.X == 7 {
			label = "7+"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.4f\n", label, r.Customers, r.Actual, r.Predicted)
	}
	return tw.Flush()
}

// actualPredictedLines styles the two lines every diagnostic chart shows:
// actual solid dark, predicted dashed red.
func actualPredictedLines(actual, pred plotter.XYs) (*plotter.Line, *plotter.Line, error) {
	la, err := plotter.NewLine(actual)
	if err != nil {
		return nil, nil, err
	}
	lp, err := plotter.NewLine(pred)
	if err != nil {
		return nil, nil, err
	}
	la.Color = color.RGBA{R: 0x1d, G: 0x23, B: 0x30, A: 0xff}
	lp.Color = color.RGBA{R: 0xd9, G: 0x2d, B: 0x20, A: 0xff}
	lp.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	return la, lp, nil
}

// trackingPlot draws cumulative repeat transactions per period, actual and
// predicted, with the end of calibration marked.
func trackingPlot(model, unit string, pts []TrackingPoint, calEnd int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Cumulative repeat transactions (%s)", model)
	p.X.Label.Text = unit + "s since the first purchase"
	p.Y.Label.Text = "repeat transactions"
	actual, pred := make(plotter.XYs, len(pts)), make(plotter.XYs, len(pts))
	for i, t := range pts {
		actual[i] = plotter.XY{X: float64(t.Period), Y: t.Actual}
		pred[i] = plotter.XY{X: float64(t.Period), Y: t.Predicted}
	}
	la, lp, err := actualPredictedLines(actual, pred)
	if err != nil {
		return nil, err
	}
	top := 0.0
	for _, t := range pts {
		top = max(top, t.Actual, t.Predicted)
	}
	cal, err := plotter.NewLine(plotter.XYs{{X: float64(calEnd), Y: 0}, {X: float64(calEnd), Y: top}})
	if err != nil {
		return nil, err
	}
	cal.Color = color.Gray{Y: 0x99}
	p.Add(la, lp, cal)
	p.Legend.Add("actual", la)
	p.Legend.Add("predicted", lp)
	p.Legend.Add("end of calibration", cal)
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// TrackingSVG draws cumulative repeat transactions, actual and predicted,
// with the end of calibration marked.
func (e CLVEvaluation) TrackingSVG(w io.Writer) error {
	p, err := trackingPlot(e.Fit.Model, e.Fit.TimeUnit, e.Tracking, e.CalibrationEnds)
	if err != nil {
		return err
	}
	c := vgsvg.New(16*vg.Centimeter, 9*vg.Centimeter)
	p.Draw(draw.New(c))
	_, err = c.WriteTo(w)
	return err
}
