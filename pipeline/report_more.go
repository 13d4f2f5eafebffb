package pipeline

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

// gainsSVG draws the out-of-time cumulative gains of the churn model: the
// share of churners caught in the riskiest k% of customers.
func gainsSVG(m models.Metrics) template.HTML {
	if m.Gains[9] == 0 {
		return ""
	}
	model := plotter.XYs{{X: 0, Y: 0}}
	for d, g := range m.Gains {
		model = append(model, plotter.XY{X: float64(10 * (d + 1)), Y: 100 * g})
	}
	p := plot.New()
	p.Title.Text = "Gains (out of time)"
	p.X.Label.Text = "% of customers, riskiest first"
	p.Y.Label.Text = "% of churners caught"
	lm, lr, err := actualPredictedLines(model, plotter.XYs{{X: 0, Y: 0}, {X: 100, Y: 100}})
	if err != nil {
		return template.HTML(template.HTMLEscapeString("chart unavailable: " + err.Error()))
	}
	p.Add(lm, lr)
	p.Legend.Add("model", lm)
	p.Legend.Add("random", lr)
	p.Legend.Top, p.Legend.Left = true, true
	return svgHTML(p, 9*vg.Centimeter, 6.5*vg.Centimeter)
}

// calibrationSVG draws the reliability diagram of the validation scores.
func calibrationSVG(m models.Metrics) template.HTML {
	var obs plotter.XYs
	for _, b := range m.Reliability {
		if b.N > 0 {
			obs = append(obs, plotter.XY{X: b.MeanScore, Y: b.Observed})
		}
	}
	if len(obs) == 0 {
		return ""
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Calibration (out of time, ECE %.3f)", m.ECE)
	p.X.Label.Text = "predicted churn probability"
	p.Y.Label.Text = "observed churn rate"
	lo, ld, err := actualPredictedLines(obs, plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return template.HTML(template.HTMLEscapeString("chart unavailable: " + err.Error()))
	}
	p.Add(lo, ld)
	p.Legend.Add("observed", lo)
	p.Legend.Add("perfect", ld)
	p.Legend.Top, p.Legend.Left = true, true
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return svgHTML(p, 9*vg.Centimeter, 6.5*vg.Centimeter)
}

// decileRow is one tenth of the customers by predicted CLV.
type decileRow struct {
	Decile             int // 1 = most valuable
	Customers          int
	MinCLV, MeanCLV    float64
	TotalCLV, ShareCLV float64 // share in percent
	MeanProb, VaR      float64
}

// clvDeciles splits the customers into tenths by predicted CLV, most valuable first.
func clvDeciles(rows []listRow) []decileRow {
	if len(rows) == 0 {
		return nil
	}
	clv := make([]float64, len(rows))
	total := 0.0
	for i := range rows {
		clv[i] = rows[i].clv
		total += clv[i]
	}
	idx := models.RankDescending(clv) // descending CLV, ties in row order
	out := make([]decileRow, 10)
	for k, i := range idx {
		d := &out[k*10/len(rows)]
		r := &rows[i]
		if d.Customers == 0 || r.clv < d.MinCLV {
			d.MinCLV = r.clv
		}
		d.Customers++
		d.TotalCLV += r.clv
		d.MeanProb += r.prob
		d.VaR += r.valueAtRisk
	}
	for k := range out {
		d := &out[k]
		d.Decile = k + 1
		if d.Customers > 0 {
			d.MeanCLV = d.TotalCLV / float64(d.Customers)
			d.MeanProb /= float64(d.Customers)
		}
		if total > 0 {
			d.ShareCLV = 100 * d.TotalCLV / total
		}
	}
	return slices.DeleteFunc(out, func(d decileRow) bool { return d.Customers == 0 })
}

// rfmCell is one recency × frequency score cell of the heatmap.
type rfmCell struct {
	Customers int
	MeanProb  float64
	Style     template.CSS
}

// rfmHeatmap counts customers by R (rows, 5 first) and F (columns, 1 to 5)
// with their mean churn probability, coloured from green (safe) to red.
func rfmHeatmap(l *list) [][]rfmCell {
	grid := make([][]rfmCell, 5)
	for i := range grid {
		grid[i] = make([]rfmCell, 5)
	}
	for i := range l.rows {
		r := &l.rows[i]
		rfm := l.texts.str(r.rfm)
		if len(rfm) != 3 {
			continue
		}
		rs, fs := int(rfm[0]-'0'), int(rfm[1]-'0')
		if rs < 1 || rs > 5 || fs < 1 || fs > 5 {
			continue
		}
		c := &grid[5-rs][fs-1]
		c.Customers++
		c.MeanProb += r.prob
	}
	for i := range grid {
		for j := range grid[i] {
			c := &grid[i][j]
			if c.Customers == 0 {
				continue
			}
			c.MeanProb /= float64(c.Customers)
			red := math.Min(1, c.MeanProb)
			c.Style = template.CSS(fmt.Sprintf("background:rgba(%d,%d,%d,0.85);color:#fff",
				int(6+(217-6)*red), int(118+(45-118)*red), int(71+(32-71)*red)))
		}
	}
	return grid
}

// reasonCount is how many at-risk customers have a feature as their first reason.
type reasonCount struct {
	Feature, Meaning string
	Customers        int
	Share            float64 // percent of the at-risk customers
}

// topReasonCounts tallies the first reason (in inputs, beside the rows) of
// the medium- and high-risk customers, most frequent first.
func topReasonCounts(inputs []actionInput, rows []listRow) []reasonCount {
	counts := map[string]int{}
	atRisk := 0
	for i := range rows {
		if riskTiers[rows[i].risk] == "low" {
			continue
		}
		atRisk++
		if first := inputs[i].reasons.first(); first != "" {
			counts[first]++
		}
	}
	meaning := map[string]string{}
	for _, e := range features.Catalogue {
		meaning[e.Name] = e.EN
	}
	var out []reasonCount
	for f, n := range counts {
		out = append(out, reasonCount{Feature: f, Meaning: meaning[f], Customers: n, Share: 100 * float64(n) / float64(atRisk)})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Customers != out[b].Customers {
			return out[a].Customers > out[b].Customers
		}
		return out[a].Feature < out[b].Feature
	})
	return out[:min(10, len(out))]
}

// ingestView is one ingest of the warehouse log, for the data-quality section.
type ingestView struct {
	ID                               string
	Files                            int
	Read, Loaded, Quarantined, Dupes int64
	NonProduct, Cancelled, Guests    int64
}

// dataQuality reads the last ingests from the warehouse log (newest first).
func dataQuality(workdir string) []ingestView {
	log, err := readIngestLog(workdir)
	if err != nil {
		return nil
	}
	var out []ingestView
	for i := len(log) - 1; i >= 0 && len(out) < 5; i-- {
		r := log[i]
		v := ingestView{ID: r.ID, Files: len(r.Files), Quarantined: r.Quarantined, Dupes: r.Duplicates,
			Cancelled: r.Lines.CancelledLines, Guests: r.Lines.Guests}
		for _, n := range r.Lines.NonProduct {
			v.NonProduct += n
		}
		for _, f := range r.Files {
			v.Read += f.Read
			v.Loaded += f.Loaded
		}
		out = append(out, v)
	}
	return out
}
