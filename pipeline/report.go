package pipeline

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
	"github.com/churn-dev/churn/models"
)

type tierRow struct {
	Tier              string
	Customers         int
	Share             float64 // percent
	ValueAtRisk       float64
	MeanProb, MeanCLV float64
}

type segmentRow struct {
	Segment     string
	Customers   int
	ValueAtRisk float64
	MeanProb    float64
}

type report struct {
	AsOf                  string
	Customers             int
	TotalCLV, TotalVaR    float64
	Tiers                 []tierRow
	Segments              []segmentRow
	Top                   []datasets.ScoreRow
	Churn                 *ChurnArtifact
	CLV                   *CLVArtifact
	ChurnVersion          string
	CLVVersion            string
	HorizonDays           int
	CLVHorizonDays        int
	DiscountRate          float64
	RiskHigh, RiskMedium  float64
	Histogram             template.HTML
	Conditional           template.HTML
	Validation, TrainEval models.Metrics
	KPIs                  *kpiReport // nil without KPIs
	ZH                    bool       // the report is in Chinese
	Sizing                Sizing
	Movers                *Movers // nil without a previous list
	Gains, Calibration    template.HTML
	Tracking              template.HTML // the CLV tracking plot
	Deciles               []decileRow
	RFMGrid               [][]rfmCell
	TopReasons            []reasonCount
	Ingests               []ingestView
	TierNames             []string // loyalty tiers, none first
	SegTiers              []segTierRow
}

// segTierRow is one RFM segment's customers and value at risk per loyalty tier.
type segTierRow struct {
	Segment string
	Cells   []segTierCell
}

type segTierCell struct {
	Customers   int
	ValueAtRisk float64
}

func reportData(cfg Config, asOf time.Time, l *list, ca *ChurnArtifact, cl *CLVArtifact, cv, lv string) report {
	rows := l.rows
	segments, _ := segmentNames()
	r := report{AsOf: dateString(asOf), Customers: len(rows), Churn: ca, CLV: cl, ChurnVersion: cv, CLVVersion: lv,
		HorizonDays: cfg.Horizon, CLVHorizonDays: cfg.CLVHorizon, DiscountRate: cfg.DiscountRate,
		RiskHigh: cfg.RiskHigh, RiskMedium: cfg.RiskMedium, Validation: ca.Validation, TrainEval: ca.TrainMetrics}
	tiers := map[string]*tierRow{"high": {Tier: "high"}, "medium": {Tier: "medium"}, "low": {Tier: "low"}}
	segs := map[string]*segmentRow{}
	probs := make([]float64, len(rows))
	for i := range rows {
		row := &rows[i]
		probs[i] = row.prob
		r.TotalCLV += row.clv
		r.TotalVaR += row.valueAtRisk
		t := tiers[riskTiers[row.risk]]
		t.Customers++
		t.ValueAtRisk += row.valueAtRisk
		t.MeanProb += row.prob
		t.MeanCLV += row.clv
		seg := segments[row.segment]
		s := segs[seg]
		if s == nil {
			s = &segmentRow{Segment: seg}
			segs[seg] = s
		}
		s.Customers++
		s.ValueAtRisk += row.valueAtRisk
		s.MeanProb += row.prob
	}
	for _, name := range []string{"high", "medium", "low"} {
		t := tiers[name]
		if t.Customers > 0 {
			t.MeanProb /= float64(t.Customers)
			t.MeanCLV /= float64(t.Customers)
			t.Share = 100 * float64(t.Customers) / float64(len(rows))
		}
		r.Tiers = append(r.Tiers, *t)
	}
	for _, s := range segs {
		s.MeanProb /= float64(s.Customers)
		r.Segments = append(r.Segments, *s)
	}
	sort.Slice(r.Segments, func(i, j int) bool {
		if r.Segments[i].ValueAtRisk != r.Segments[j].ValueAtRisk {
			return r.Segments[i].ValueAtRisk > r.Segments[j].ValueAtRisk
		}
		return r.Segments[i].Segment < r.Segments[j].Segment
	})
	r.TierNames = []string{features.TierNone}
	for _, t := range cfg.Tiers {
		r.TierNames = append(r.TierNames, t.Name)
	}
	cells := map[string][]segTierCell{}
	tierAt := map[uint16]int{} // a loyalty tier's code: its place in TierNames (-1: none)
	for i := range rows {
		row := &rows[i]
		seg := segments[row.segment]
		c := cells[seg]
		if c == nil {
			c = make([]segTierCell, len(r.TierNames))
			cells[seg] = c
		}
		k, ok := tierAt[row.loyalty]
		if !ok {
			k = slices.Index(r.TierNames, l.texts.str(row.loyalty))
			tierAt[row.loyalty] = k
		}
		if k >= 0 {
			c[k].Customers++
			c[k].ValueAtRisk += row.valueAtRisk
		}
	}
	for _, s := range r.Segments { // in the segments table's order
		r.SegTiers = append(r.SegTiers, segTierRow{Segment: s.Segment, Cells: cells[s.Segment]})
	}
	r.Top = l.scoreRows(0, min(25, len(rows)))
	r.Gains, r.Calibration = gainsSVG(ca.Validation), calibrationSVG(ca.Validation)
	if len(cl.Tracking) > 0 {
		if p, err := trackingPlot(cl.PurchaseModel, "week", cl.Tracking, cl.TrackingCalibrationWeeks); err == nil {
			r.Tracking = svgHTML(p, 13*vg.Centimeter, 7*vg.Centimeter)
		}
	}
	r.Deciles, r.RFMGrid = clvDeciles(rows), rfmHeatmap(l)
	r.Histogram = histogramSVG(probs)
	for _, c := range cl.Candidates {
		if c.Model == cl.PurchaseModel {
			r.Conditional = conditionalSVG(c, cfg.Horizon)
		}
	}
	return r
}

// histogramSVG draws the distribution of churn probabilities as inline SVG.
func histogramSVG(probs []float64) template.HTML {
	return template.HTML(HistogramSVG("Churn probability", "P(churn within horizon)", probs, 20)) // numbers only
}

// conditionalSVG draws mean purchase days in the horizon after the
// validation snapshot, actual and predicted, by purchase days before it.
func conditionalSVG(c CLVCandidate, horizon int) template.HTML {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: purchase days in the next %d days", c.Model, horizon)
	p.X.Label.Text = "repeat purchase days before (7 = 7 or more)"
	p.Y.Label.Text = "mean per customer"
	act, pred := make(plotter.XYs, len(c.ByFrequency)), make(plotter.XYs, len(c.ByFrequency))
	for i, r := range c.ByFrequency {
		act[i] = plotter.XY{X: float64(r.X), Y: r.Actual}
		pred[i] = plotter.XY{X: float64(r.X), Y: r.Predicted}
	}
	la, lp, err := actualPredictedLines(act, pred)
	if err != nil {
		return template.HTML(template.HTMLEscapeString("chart unavailable: " + err.Error()))
	}
	p.Add(la, lp)
	p.Legend.Add("actual", la)
	p.Legend.Add("predicted", lp)
	p.Legend.Top, p.Legend.Left = true, true
	return svgHTML(p, 13*vg.Centimeter, 6.5*vg.Centimeter)
}

// svgHTML renders a plot as inline SVG (no XML prolog).
func svgHTML(p *plot.Plot, w, h vg.Length) template.HTML {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return template.HTML(template.HTMLEscapeString("chart unavailable: " + err.Error()))
	}
	b := buf.Bytes()
	if i := bytes.Index(b, []byte("<svg")); i > 0 {
		b = b[i:]
	}
	return template.HTML(b) // generated by gonum/plot from numbers only
}

// writeReport writes the report in English. The parsed template is never
// executed itself (html/template cannot clone an executed template): every
// report runs on a clone.
func writeReport(w io.Writer, r report) error {
	t, err := reportTemplate.Clone()
	if err == nil {
		err = t.Execute(w, r)
	}
	if err != nil {
		return fmt.Errorf("pipeline: report: %w", err)
	}
	return nil
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"money": func(v float64) string { return commas(v) },
	"count": func(v int) string { s := commas(float64(v)); return s[:len(s)-3] },
	"pct":   func(v float64) string { return fmt.Sprintf("%.1f%%", v) },
	"prob":  func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f4":    func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"bar":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"rate": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*v)
	},
	"rscore": func(i int) int { return 5 - i },
	"t":      func(s string) string { return s }, // writeReportLang swaps in Chinese
	"num": func(v float64, prec int) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	},
}).Parse(reportHTML + kpiHTML))

// commas formats v with two decimals and thousands separators.
func commas(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	var out []byte
	for i, c := range []byte(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out) + frac
	}
	return string(out) + frac
}

const reportHTML = `<!doctype html>
<html lang="{{if .ZH}}zh{{else}}en{{end}}"><head><meta charset="utf-8">
<title>{{if .ZH}}挽留名单 {{.AsOf}}{{else}}Retention list {{.AsOf}}{{end}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:20px 32px;max-width:1280px}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{background:#fff;border-radius:8px;padding:14px 18px;min-width:180px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:24px}.card span{color:#5b6475}
section{background:#fff;border-radius:8px;padding:14px 18px;margin-top:18px;box-shadow:0 1px 2px #0001}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%}th,td{padding:5px 8px;border-bottom:1px solid #e6e8ec;text-align:left;vertical-align:top}
th{color:#5b6475;font-weight:600}th.n{text-align:right}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tier-high{color:#b42318;font-weight:600}.tier-medium{color:#b54708}.tier-low{color:#067647}
.barwrap{background:#eef0f3;border-radius:3px;width:160px;height:10px;display:inline-block}
.bar{background:#d92d20;height:10px;border-radius:3px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}@media(max-width:900px){.grid{grid-template-columns:1fr}}
small{color:#5b6475}
section svg{max-width:100%;height:auto}
.wide{overflow-x:auto}table.kpi td,table.kpi th{white-space:nowrap;padding:4px 6px}
</style></head><body>
<header><h1>{{if .ZH}}挽留名单 — 截至 {{.AsOf}}{{else}}Retention list — as of {{.AsOf}}{{end}}</h1>
<p>{{if .ZH}}按风险价值排序：风险价值 = 流失概率 × 预测{{.CLVHorizonDays}}天CLV。流失 = 未来{{.HorizonDays}}天内无订单。{{else}}Customers ranked by value at risk = churn probability × predicted {{.CLVHorizonDays}}-day CLV. Churn = no order in the next {{.HorizonDays}} days.{{end}}</p></header>
<main>
<div class="cards">
<div class="card"><span>{{t "customers scored"}}</span><b>{{count .Customers}}</b></div>
<div class="card"><span>{{t "total value at risk"}}</span><b>{{money .TotalVaR}}</b></div>
<div class="card"><span>{{t "total predicted CLV"}}</span><b>{{money .TotalCLV}}</b></div>
<div class="card"><span>{{t "churn model AUC (out of time)"}}</span><b>{{f4 .Validation.AUC}}</b></div>
</div>
<div class="grid">
<section><h2>{{t "Risk tiers"}}</h2>
<table><tr><th>{{t "tier"}}</th><th>{{t "band"}}</th><th class="n">{{t "customers"}}</th><th>{{t "share"}}</th><th class="n">{{t "mean P(churn)"}}</th><th class="n">{{t "value at risk"}}</th></tr>
{{range .Tiers}}<tr><td class="tier-{{.Tier}}">{{.Tier}}</td>
<td>{{if eq .Tier "high"}}≥ {{$.RiskHigh}}{{else if eq .Tier "medium"}}{{$.RiskMedium}} – {{$.RiskHigh}}{{else}}&lt; {{$.RiskMedium}}{{end}}</td>
<td class="n">{{count .Customers}}</td><td><span class="barwrap"><span class="bar" style="display:block;width:{{bar .Share}}%"></span></span> {{pct .Share}}</td>
<td class="n">{{prob .MeanProb}}</td><td class="n">{{money .ValueAtRisk}}</td></tr>{{end}}
</table></section>
<section><h2>{{t "Distribution"}}</h2>{{.Histogram}}</section>
</div>
<section><h2>{{t "Segments (RFM)"}}</h2>
<table><tr><th>{{t "segment"}}</th><th class="n">{{t "customers"}}</th><th class="n">{{t "mean P(churn)"}}</th><th class="n">{{t "value at risk"}}</th></tr>
{{range .Segments}}<tr><td>{{.Segment}}</td><td class="n">{{count .Customers}}</td><td class="n">{{prob .MeanProb}}</td><td class="n">{{money .ValueAtRisk}}</td></tr>{{end}}
</table></section>
{{template "kpis" .}}
<section><h2>{{t "Campaign sizing"}}</h2>
<div class="grid"><div>
{{if .ZH}}<p>联系名单前 <b>{{count .Sizing.Contacts}}</b> 位客户（contact列）：预期利润 <b>{{money .Sizing.Profit}}</b> = 挽回价值 {{money .Sizing.SavedValue}}（挽回率 {{.Sizing.SaveRate}} × 其风险价值）− 联系成本 {{money .Sizing.Cost}}（每位 {{.Sizing.ContactCost}}{{if gt .Sizing.Budget 0.0}}，预算 {{money .Sizing.Budget}}{{end}}{{if .Sizing.Top}}，最多 {{.Sizing.Top}} 位{{end}}）。该范围内 {{count .Sizing.Control}} 位对照组客户不联系（control列）：之后用 <code>churn uplift --list {{.AsOf}} --as-of 之后日期</code> 衡量活动效果。</p>
<p>停止原因：{{.Sizing.Stop}}。名单按风险价值排序，越往后每多联系一位带来的收益越少。</p>{{else}}<p>Contact the first <b>{{count .Sizing.Contacts}}</b> customers of the list (column <code>{{t "contact"}}</code>): expected profit <b>{{money .Sizing.Profit}}</b> = saved value {{money .Sizing.SavedValue}} (save rate {{.Sizing.SaveRate}} × their value at risk) − contact cost {{money .Sizing.Cost}} ({{.Sizing.ContactCost}} each{{if gt .Sizing.Budget 0.0}}, budget {{money .Sizing.Budget}}{{end}}{{if .Sizing.Top}}, at most {{.Sizing.Top}}{{end}}). {{count .Sizing.Control}} control customers in that range are held out (column <code>{{t "control"}}</code>): <code>churn uplift --list {{.AsOf}} --as-of LATER</code> measures the campaign against them.</p>
<p>Why stop there: {{.Sizing.Stop}}. The list is ranked by value at risk, so every further customer adds less than the one before.</p>{{end}}
<p><small>{{t "Set --contact-cost, --save-rate, --budget and --top on score or run."}}</small></p>
</div><div>{{.Sizing.Curve}}</div></div></section>
<section><h2>{{t "Movers"}}{{with .Movers}} {{t "since"}} {{.PreviousAsOf}}{{end}}</h2>
{{with .Movers}}<table><tr><th>{{t "move"}}</th><th class="n">{{t "customers"}}</th></tr>
<tr><td>{{t "entered high risk"}}</td><td class="n">{{count (index .Counts "entered_high")}}</td></tr>
<tr><td>{{t "risk up (to medium)"}}</td><td class="n">{{count (index .Counts "risk_up")}}</td></tr>
<tr><td>{{t "came back (ordered again after medium or high risk)"}}</td><td class="n">{{count (index .Counts "came_back")}}</td></tr>
<tr><td>{{t "risk down"}}</td><td class="n">{{count (index .Counts "risk_down")}}</td></tr>
<tr><td>{{t "new on the list"}}</td><td class="n">{{count (index .Counts "new")}}</td></tr></table>
{{if .TopEntered}}<h2 style="margin-top:14px">{{t "New at high risk, most value first"}}</h2>
<table><tr><th class="n">#</th><th>{{t "customer"}}</th><th>{{t "was"}}</th><th class="n">{{t "P(churn) was → now"}}</th><th class="n">{{t "value at risk"}}</th><th>{{t "suggested action"}}</th></tr>
{{range .TopEntered}}<tr><td class="n">{{.Now.Rank}}</td><td>{{.Now.CustomerID}}</td><td>{{if .Prev}}{{.Prev.RiskTier}}{{else}}new{{end}}</td><td class="n">{{if .Prev}}{{prob .Prev.ChurnProbability}}{{end}} → {{prob .Now.ChurnProbability}}</td><td class="n">{{money .Now.ValueAtRisk}}</td><td>{{.Now.SuggestedAction}}</td></tr>{{end}}
</table>{{end}}<small>{{t "Every move is in movers.csv beside this page."}}</small>
{{else}}<p>{{t "No earlier list in this work directory to compare with."}}</p>{{end}}</section>
<div class="grid">
<section><h2>{{t "RFM heatmap"}}</h2>
<table class="kpi"><tr><th>{{t "R ↓ / F →"}}</th><th class="n">1</th><th class="n">2</th><th class="n">3</th><th class="n">4</th><th class="n">5</th></tr>
{{range $i, $row := .RFMGrid}}<tr><td>R{{rscore $i}}</td>{{range $row}}<td class="n" style="{{.Style}}">{{count .Customers}}<br><small style="color:inherit">{{if .Customers}}{{prob .MeanProb}}{{end}}</small></td>{{end}}</tr>{{end}}
</table><small>{{t "Customers by recency score (5 = most recent) and frequency score; below, their mean churn probability (green low, red high)."}}</small></section>
<section><h2>{{t "Top reasons among customers at risk"}}</h2>
<table><tr><th>{{t "first reason"}}</th><th class="n">{{t "customers"}}</th><th class="n">{{t "share"}}</th></tr>
{{range .TopReasons}}<tr><td>{{.Meaning}} <small>({{.Feature}})</small></td><td class="n">{{count .Customers}}</td><td class="n">{{pct .Share}}</td></tr>{{end}}
</table><small>{{t "The feature that raises each medium- or high-risk customer's churn probability most."}}</small></section>
</div>
<section><h2>{{t "CLV deciles"}}</h2>
<table><tr><th>{{t "decile"}}</th><th class="n">{{t "customers"}}</th><th class="n">{{t "from CLV"}}</th><th class="n">{{t "mean CLV"}}</th><th class="n">{{t "total CLV"}}</th><th class="n">{{t "share of CLV"}}</th><th class="n">{{t "mean P(churn)"}}</th><th class="n">{{t "value at risk"}}</th></tr>
{{range .Deciles}}<tr><td>{{.Decile}}</td><td class="n">{{count .Customers}}</td><td class="n">{{money .MinCLV}}</td><td class="n">{{money .MeanCLV}}</td><td class="n">{{money .TotalCLV}}</td><td class="n">{{pct .ShareCLV}}</td><td class="n">{{prob .MeanProb}}</td><td class="n">{{money .VaR}}</td></tr>{{end}}
</table><small>{{t "Customers in tenths by predicted CLV, most valuable first."}}</small></section>
<section><h2>{{t "Segments × loyalty tiers"}}</h2>
<table><tr><th>{{t "segment"}}</th>{{range .TierNames}}<th class="n">{{.}}</th>{{end}}</tr>
{{range .SegTiers}}<tr><td>{{.Segment}}</td>{{range .Cells}}<td class="n">{{count .Customers}}<br><small>{{money .ValueAtRisk}}</small></td>{{end}}</tr>{{end}}
</table><small>{{t "Customers and, below, their value at risk, by RFM segment and loyalty-programme tier at the as-of day."}}</small></section>
<section><h2>{{t "Top of the list"}}</h2>
<table><tr><th class="n">#</th><th>{{t "customer"}}</th><th class="n">{{t "P(churn)"}}</th><th>{{t "risk"}}</th><th class="n">{{t "P(alive)"}}</th><th class="n">{{t "CLV"}}</th><th class="n">{{t "value at risk"}}</th><th>{{t "segment"}}</th><th>{{t "loyalty tier"}}</th><th>{{t "reasons"}}</th><th>{{t "suggested action"}}</th><th>{{t "contact"}}</th><th>{{t "last order"}}</th></tr>
{{range .Top}}<tr><td class="n">{{.Rank}}</td><td>{{.CustomerID}}</td><td class="n">{{prob .ChurnProbability}}</td><td class="tier-{{.RiskTier}}">{{.RiskTier}}</td>
<td class="n">{{prob .PAlive}}</td><td class="n">{{money .PredictedCLV}}</td><td class="n">{{money .ValueAtRisk}}</td><td>{{.Segment}}</td><td>{{.LoyaltyTier}}</td><td>{{.Reasons}}</td><td>{{.SuggestedAction}}</td><td>{{if .Contact}}yes{{else}}no{{end}}</td><td style="white-space:nowrap">{{.LastOrderDate}}</td></tr>{{end}}
</table><small>{{t "The full list is retention_list.csv beside this page."}}</small></section>
<div class="grid">
<section><h2>Churn model {{.ChurnVersion}}</h2>
<p>Champion: {{if eq .Churn.Kind "gbdt"}}gradient-boosted trees ({{len .Churn.GBDT.Trees}} trees) on {{len .Churn.Features}} features{{else if eq .Churn.Kind "btyd"}}the BTYD baseline, P(no order within the horizon) from the CLV purchase model, with reasons from the refitted {{.Churn.ExplainedBy}}{{else}}L2 logistic regression on {{len .Churn.Features}} features{{end}}, Platt-calibrated. Candidates were fitted on {{len .Churn.TrainCutoffs}} monthly snapshots ({{index .Churn.TrainCutoffs 0}} and before), judged out of time on {{.Churn.ValidatedOn}}; the best ROC AUC won; learnt models are refitted with {{.Churn.RefitOn}} added ({{.Churn.TrainExamples}} rows).</p>
<p>{{t "Churn means"}}: {{if eq .Churn.ChurnDefinition "cancel"}}{{t "a cancel event within the horizon (contractual churn); customers cancelled by the as-of day are left out of training and listed as churned, with no value left"}}{{else}}{{t "no order within the horizon"}}{{end}} ({{.Churn.HorizonDays}} {{t "days"}}).</p>
<table><tr><th>{{t "candidate"}}</th><th class="n">{{t "ROC AUC"}}</th><th class="n">{{t "PR AUC"}}</th><th class="n">{{t "log loss"}}</th><th class="n">{{t "calibration error"}}</th></tr>
{{range .Churn.Leaderboard}}<tr><td>{{.Model}}{{if .Rounds}} ({{.Rounds}} rounds){{end}}{{if .Error}} — failed: {{.Error}}{{end}}</td><td class="n">{{f4 .Validation.AUC}}</td><td class="n">{{f4 .Validation.PRAUC}}</td><td class="n">{{f4 .Validation.LogLoss}}</td><td class="n">{{f4 .CalibrationError}}</td></tr>{{end}}
</table>
<table><tr><th>{{t "metric"}}</th><th class="n">{{t "out of time"}}</th><th class="n">{{t "in sample"}}</th></tr>
<tr><td>{{t "ROC AUC"}}</td><td class="n">{{f4 .Validation.AUC}}</td><td class="n">{{f4 .TrainEval.AUC}}</td></tr>
<tr><td>{{t "PR AUC"}}</td><td class="n">{{f4 .Validation.PRAUC}}</td><td class="n">{{f4 .TrainEval.PRAUC}}</td></tr>
<tr><td>{{t "Brier score"}}</td><td class="n">{{f4 .Validation.Brier}}</td><td class="n">{{f4 .TrainEval.Brier}}</td></tr>
<tr><td>{{t "log loss"}}</td><td class="n">{{f4 .Validation.LogLoss}}</td><td class="n">{{f4 .TrainEval.LogLoss}}</td></tr>
<tr><td>{{t "lift, top decile"}}</td><td class="n">{{f4 .Validation.LiftTop10}}</td><td class="n">{{f4 .TrainEval.LiftTop10}}</td></tr>
<tr><td>{{t "churn rate"}}</td><td class="n">{{f4 .Validation.PositiveRate}}</td><td class="n">{{f4 .TrainEval.PositiveRate}}</td></tr>
<tr><td>{{t "customers"}}</td><td class="n">{{.Validation.N}}</td><td class="n">{{.TrainEval.N}}</td></tr>
</table></section>
<section><h2>CLV model {{.CLVVersion}}</h2>
<p>{{.CLV.PurchaseModel}} purchases and Gamma-Gamma spend, fitted on {{count .CLV.Customers}} customers as of {{.CLV.Cutoff}} (time unit: {{.CLV.TimeUnit}}). CLV discounts monthly cash flows at {{.DiscountRate}} a year.</p>
<table><tr><th>{{t "parameter"}}</th><th class="n">{{t "value"}}</th></tr>
{{range $i, $n := .CLV.ParamNames}}<tr><td>{{$.CLV.PurchaseModel}} {{$n}}</td><td class="n">{{f4 (index $.CLV.Params $i)}}</td></tr>{{end}}
<tr><td>{{t "log-likelihood"}}</td><td class="n">{{money .CLV.LogLikelihood}}</td></tr>
<tr><td>{{t "Gamma-Gamma p, q, γ"}}</td><td class="n">{{f4 .CLV.Spend.P}}, {{f4 .CLV.Spend.Q}}, {{f4 .CLV.Spend.Gamma}}</td></tr>
</table>
<p>Chosen by {{.CLV.SelectedBy}}:</p>
<table><tr><th>{{t "model"}}</th><th class="n">{{t "log-likelihood"}}</th><th class="n">{{t "holdout MAE"}}</th><th class="n">{{t "predicted"}}</th><th class="n">{{t "actual"}}</th></tr>
{{range .CLV.Candidates}}<tr><td>{{.Model}}{{if eq .Model $.CLV.PurchaseModel}} ✓{{end}}</td>{{if .Error}}<td colspan="4">{{.Error}}</td>{{else}}<td class="n">{{money .LogLikelihood}}</td><td class="n">{{f4 .HoldoutMAE}}</td><td class="n">{{money .HoldoutPredicted}}</td><td class="n">{{money .HoldoutActual}}</td>{{end}}</tr>{{end}}
</table>
{{.Conditional}}{{.Tracking}}</section>
</div>
<div class="grid">
<section><h2>{{t "Gains"}}</h2>{{.Gains}}<small>{{t "Share of the validation snapshot's churners among the riskiest customers, against random contact."}}</small></section>
<section><h2>{{t "Calibration"}}</h2>{{.Calibration}}<small>{{t "Mean predicted probability against the observed churn rate in ten bins; on the diagonal is perfectly calibrated."}}</small></section>
</div>
<section><h2>{{t "Data quality"}}</h2>
{{if .Ingests}}<table><tr><th>{{t "ingest"}}</th><th class="n">{{t "files"}}</th><th class="n">{{t "rows read"}}</th><th class="n">{{t "loaded"}}</th><th class="n">{{t "quarantined"}}</th><th class="n">{{t "duplicates dropped"}}</th><th class="n">{{t "non-product lines"}}</th><th class="n">{{t "cancelled lines"}}</th><th class="n">{{t "guest rows"}}</th></tr>
{{range .Ingests}}<tr><td>{{.ID}}</td><td class="n">{{.Files}}</td><td class="n">{{.Read}}</td><td class="n">{{.Loaded}}</td><td class="n">{{.Quarantined}}</td><td class="n">{{.Dupes}}</td><td class="n">{{.NonProduct}}</td><td class="n">{{.Cancelled}}</td><td class="n">{{.Guests}}</td></tr>{{end}}
</table><small>{{t "The last ingests, newest first; quarantined rows are in warehouse/_quarantine/<ingest>.csv with file, line, column and reason."}}</small>{{else}}<p>{{t "No ingest log in this work directory."}}</p>{{end}}</section>
</main></body></html>
`
