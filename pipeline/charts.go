package pipeline

import (
	"fmt"
	"html"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/churn-dev/churn/models"
)

// Charts for notebooks (GoNB shows them with gonbui.DisplaySVG and
// DisplayHTML) and for report.html: each returns self-contained SVG or
// HTML drawn from numbers only.

// HistogramSVG draws the distribution of values (NaN left out) in bins.
func HistogramSVG(title, xLabel string, values []float64, bins int) string {
	vals := make(plotter.Values, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return chartError(fmt.Errorf("no values to draw"))
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, "customers"
	h, err := plotter.NewHist(vals, max(1, bins))
	if err != nil {
		return chartError(err)
	}
	h.FillColor = color.RGBA{R: 0xd9, G: 0x2d, B: 0x20, A: 0xff}
	h.LineStyle.Color = color.White
	p.Add(h)
	return string(svgHTML(p, 13*vg.Centimeter, 6.5*vg.Centimeter))
}

// GainsSVG draws the cumulative gains of a churn model's evaluation.
func GainsSVG(m models.Metrics) string { return string(gainsSVG(m)) }

// CalibrationSVG draws the reliability diagram of a churn model's evaluation.
func CalibrationSVG(m models.Metrics) string { return string(calibrationSVG(m)) }

// TrackingSVG draws a CLV evaluation's tracking plot (cumulative repeat
// transactions, actual and predicted).
func TrackingSVG(e CLVEvaluation) string {
	var b strings.Builder
	if err := e.TrackingSVG(&b); err != nil {
		return chartError(err)
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s
}

// HeatmapHTML renders a matrix as an HTML table whose cells are shaded
// from white (the smallest value) to red (the largest), each printed with
// format (e.g. "%.0f%%"); NaN cells are empty. rows and cols label it.
func HeatmapHTML(title string, rows, cols []string, cells [][]float64, format string) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range cells {
		for _, v := range r {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<table style="border-collapse:collapse;font:12px sans-serif"><caption style="font-weight:bold;text-align:left">%s</caption><tr><th></th>`, html.EscapeString(title))
	for _, c := range cols {
		fmt.Fprintf(&b, `<th style="padding:2px 6px">%s</th>`, html.EscapeString(c))
	}
	b.WriteString("</tr>")
	for i, r := range cells {
		label := ""
		if i < len(rows) {
			label = rows[i]
		}
		fmt.Fprintf(&b, `<tr><th style="padding:2px 6px;text-align:right">%s</th>`, html.EscapeString(label))
		for _, v := range r {
			if math.IsNaN(v) {
				b.WriteString("<td></td>")
				continue
			}
			t := 0.0
			if hi > lo {
				t = (v - lo) / (hi - lo)
			}
			g := int(math.Round(255 - 160*t))
			fmt.Fprintf(&b, `<td style="padding:2px 6px;text-align:right;background:rgb(255,%d,%d)">%s</td>`, g, g, html.EscapeString(fmt.Sprintf(format, v)))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

func chartError(err error) string {
	return html.EscapeString("chart unavailable: " + err.Error())
}
