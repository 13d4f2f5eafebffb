package pipeline

import (
	"fmt"
	"html/template"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/churn-dev/churn/datasets"
)

// kpiReport is the loyalty KPI section of report.html.
type kpiReport struct {
	Last     datasets.KPIRow   // the last complete month, all customers
	Months   []datasets.KPIRow // the last 12 months, all customers, newest first
	Segments []datasets.KPIRow // the tiers in the last complete month
	Cohorts  []cohortView      // the last 12 cohorts
	Width    int               // months shown per cohort
	Rates    template.HTML     // retention and churn rate by month
	Flows    template.HTML     // active, new, reactivated and churned customers by month
}

type cohortView struct {
	datasets.CohortRow
	Cells []cohortCell
}

type cohortCell struct {
	Share float64 // percent; NaN: the month has not come yet
	Style template.CSS
}

// kpiSection picks what the report shows from the KPI rows and cohorts.
func kpiSection(rows []datasets.KPIRow, cohorts []datasets.CohortRow) *kpiReport {
	var all []datasets.KPIRow
	for _, r := range rows {
		if r.Segment == "all" {
			all = append(all, r)
		}
	}
	if len(all) == 0 {
		return nil
	}
	k := &kpiReport{}
	lastMonth := ""
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Complete {
			k.Last, lastMonth = all[i], all[i].Month
			break
		}
	}
	if lastMonth == "" {
		k.Last, lastMonth = all[len(all)-1], all[len(all)-1].Month
	}
	for i := len(all) - 1; i >= 0 && len(k.Months) < 12; i-- {
		k.Months = append(k.Months, all[i])
	}
	for _, r := range rows {
		if r.Month == lastMonth && r.Segment != "all" {
			k.Segments = append(k.Segments, r)
		}
	}
	k.Width = 12
	for _, c := range cohorts[max(0, len(cohorts)-12):] {
		v := cohortView{CohortRow: c}
		for m := range k.Width {
			cell := cohortCell{Share: math.NaN()}
			if m < len(c.Active) && c.Customers > 0 {
				cell.Share = 100 * float64(c.Active[m]) / float64(c.Customers)
				// Darker blue for a higher share; month 0 is always 100%.
				a := math.Min(1, cell.Share/60)
				cell.Style = template.CSS(fmt.Sprintf("background:rgba(21,94,239,%.2f);color:%s", a, map[bool]string{true: "#fff", false: "#1d2330"}[a > 0.55]))
			}
			v.Cells = append(v.Cells, cell)
		}
		k.Cohorts = append(k.Cohorts, v)
	}
	k.Rates, k.Flows = kpiCharts(all)
	return k
}

// kpiCharts draws the monthly rates and customer flows of all customers.
func kpiCharts(all []datasets.KPIRow) (template.HTML, template.HTML) {
	line := func(p *plot.Plot, name string, xy plotter.XYs, c color.RGBA, dashed bool) {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return
		}
		l.Color, l.Width = c, vg.Points(1.5)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
	}
	series := func(get func(datasets.KPIRow) float64) plotter.XYs {
		var xy plotter.XYs
		for i, r := range all {
			if v := get(r); !math.IsNaN(v) && r.Complete {
				xy = append(xy, plotter.XY{X: float64(i), Y: v})
			}
		}
		return xy
	}
	ticks := monthTicks(all)
	rates := plot.New()
	rates.Title.Text = "Monthly retention and churn rate"
	rates.Y.Label.Text = "% of last month's active customers"
	rates.X.Tick.Marker = ticks
	line(rates, "retention", series(func(r datasets.KPIRow) float64 { return 100 * r.RetentionRate }), color.RGBA{R: 0x06, G: 0x76, B: 0x47, A: 0xff}, false)
	line(rates, "churn", series(func(r datasets.KPIRow) float64 { return 100 * r.ChurnRate }), color.RGBA{R: 0xd9, G: 0x2d, B: 0x20, A: 0xff}, false)
	line(rates, "repeat purchase rate", series(func(r datasets.KPIRow) float64 { return 100 * r.RepeatPurchaseRate }), color.RGBA{R: 0x15, G: 0x5e, B: 0xef, A: 0xff}, true)
	rates.Legend.Top = true
	rates.Y.Min, rates.Y.Max = 0, 100 // the legend sits above the lines
	flows := plot.New()
	flows.Title.Text = "Customers by month"
	flows.Y.Label.Text = "customers"
	flows.X.Tick.Marker = ticks
	line(flows, "active", series(func(r datasets.KPIRow) float64 { return float64(r.ActiveCustomers) }), color.RGBA{R: 0x1d, G: 0x23, B: 0x30, A: 0xff}, false)
	line(flows, "new", series(func(r datasets.KPIRow) float64 { return float64(r.NewCustomers) }), color.RGBA{R: 0x15, G: 0x5e, B: 0xef, A: 0xff}, false)
	line(flows, "reactivated", series(func(r datasets.KPIRow) float64 { return float64(r.Reactivated) }), color.RGBA{R: 0x06, G: 0x76, B: 0x47, A: 0xff}, true)
	line(flows, "churned", series(func(r datasets.KPIRow) float64 { return float64(r.Churned) }), color.RGBA{R: 0xd9, G: 0x2d, B: 0x20, A: 0xff}, false)
	flows.Legend.Top, flows.Legend.Left = true, true // the early months are low
	return svgHTML(rates, 13*vg.Centimeter, 6.5*vg.Centimeter), svgHTML(flows, 13*vg.Centimeter, 6.5*vg.Centimeter)
}

// monthTicks labels about six months along the x axis (x = row index).
func monthTicks(all []datasets.KPIRow) plot.Ticker {
	step := max(1, len(all)/6)
	var ts []plot.Tick
	for i := range all {
		t := plot.Tick{Value: float64(i)}
		if i%step == 0 {
			t.Label = all[i].Month
		}
		ts = append(ts, t)
	}
	return plot.ConstantTicks(ts)
}

const kpiHTML = `{{define "kpis"}}{{with .KPIs}}
<section><h2>{{t "Loyalty KPIs"}} — {{.Last.Month}}</h2>
<div class="cards">
<div class="card"><span>{{t "active customers"}}</span><b>{{.Last.ActiveCustomers}}</b></div>
<div class="card"><span>{{t "retention rate"}}</span><b>{{rate .Last.RetentionRate}}</b></div>
<div class="card"><span>{{t "repeat purchase rate"}}</span><b>{{rate .Last.RepeatPurchaseRate}}</b></div>
<div class="card"><span>NPS ({{.Last.NPSResponses}})</span><b>{{num .Last.NPS 0}}</b></div>
</div>
<p><small>{{t "A customer counts from the month of the first order. Retained: ordered this month and last month; reactivated: this month, not last month, but before; churned: last month, not this month. Retention and churn rate are shares of last month's active customers; the repeat purchase rate is the share of customers with two or more orders. NPS = % promoters − % detractors of the month's answers. Segments are loyalty tiers at the start of the month. Files: kpis.csv, kpis.parquet and cohorts.csv beside this page."}}</small></p>
<div class="grid"><div>{{.Rates}}</div><div>{{.Flows}}</div></div>
<div class="wide"><table class="kpi"><tr><th>{{t "month"}}</th><th class="n">{{t "active"}}</th><th class="n">{{t "new"}}</th><th class="n">{{t "retained"}}</th><th class="n">{{t "reactivated"}}</th><th class="n">{{t "churned"}}</th><th class="n">{{t "retention"}}</th><th class="n">{{t "churn"}}</th><th class="n">{{t "repeat rate"}}</th><th class="n">{{t "orders / active"}}</th><th class="n">{{t "avg order"}}</th><th class="n">{{t "revenue / active"}}</th><th class="n">{{t "NPS (n)"}}</th><th class="n">{{t "CSAT"}}</th><th class="n">{{t "CES"}}</th><th class="n">{{t "complaints / active"}}</th><th class="n">{{t "returns"}}</th></tr>
{{range .Months}}<tr><td>{{.Month}}{{if not .Complete}} (to date){{end}}</td><td class="n">{{.ActiveCustomers}}</td><td class="n">{{.NewCustomers}}</td><td class="n">{{.Retained}}</td><td class="n">{{.Reactivated}}</td><td class="n">{{.Churned}}</td><td class="n">{{rate .RetentionRate}}</td><td class="n">{{rate .ChurnRate}}</td><td class="n">{{rate .RepeatPurchaseRate}}</td><td class="n">{{num .PurchaseFrequency 2}}</td><td class="n">{{num .AvgOrderValue 2}}</td><td class="n">{{num .RevenuePerCustomer 2}}</td><td class="n">{{num .NPS 0}} ({{.NPSResponses}})</td><td class="n">{{num .CSATMean 2}}</td><td class="n">{{num .CESMean 2}}</td><td class="n">{{rate .ComplaintRate}}</td><td class="n">{{rate .ReturnRate}}</td></tr>{{end}}
</table></div>
<h2 style="margin-top:14px">{{t "By loyalty tier"}}, {{.Last.Month}}</h2>
<table class="kpi"><tr><th>{{t "tier at month start"}}</th><th class="n">{{t "customers"}}</th><th class="n">{{t "active"}}</th><th class="n">{{t "active last month"}}</th><th class="n">{{t "retention"}}</th><th class="n">{{t "churn"}}</th><th class="n">{{t "repeat rate"}}</th><th class="n">{{t "revenue / active"}}</th><th class="n">{{t "NPS (n)"}}</th><th class="n">{{t "complaints / active"}}</th></tr>
{{range .Segments}}<tr><td>{{.Segment}}</td><td class="n">{{.Customers}}</td><td class="n">{{.ActiveCustomers}}</td><td class="n">{{.PreviousActive}}</td><td class="n">{{rate .RetentionRate}}</td><td class="n">{{rate .ChurnRate}}</td><td class="n">{{rate .RepeatPurchaseRate}}</td><td class="n">{{num .RevenuePerCustomer 2}}</td><td class="n">{{num .NPS 0}} ({{.NPSResponses}})</td><td class="n">{{rate .ComplaintRate}}</td></tr>{{end}}
</table>
<h2 style="margin-top:14px">{{t "Cohort retention: share of each acquisition month's customers ordering k months later"}}</h2>
{{if .Cohorts}}<div class="wide"><table class="kpi cohorts"><tr><th>{{t "cohort"}}</th><th class="n">{{t "customers"}}</th><th class="n">{{t "mean predicted CLV"}}</th>{{range $k, $_ := (index .Cohorts 0).Cells}}<th class="n">{{$k}}</th>{{end}}</tr>
{{range .Cohorts}}<tr><td>{{.Cohort}}</td><td class="n">{{.Customers}}</td><td class="n">{{num .MeanCLV 2}}</td>{{range .Cells}}<td class="n" style="{{.Style}}">{{num .Share 0}}</td>{{end}}</tr>{{end}}
</table></div>{{end}}</section>
{{end}}{{end}}`
