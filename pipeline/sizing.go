package pipeline

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"html/template"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Sizing is the campaign the list recommends: the prefix of the ranked
// list (by value at risk) that maximises expected profit
// = Σ (save rate × value at risk − contact cost), within the budget and --top.
type Sizing struct {
	ContactCost, SaveRate, Budget float64 // Budget 0: none
	Top                           int     // 0: none
	Contacts                      int     // customers to contact
	Control                       int     // control customers held out within the contacted range
	Cost, SavedValue, Profit      float64 // of those contacts
	Stop                          string  // why the prefix ends there
	Curve                         template.HTML
}

// sizeCampaign marks the rows to contact and explains the choice. Rows are
// ranked by value at risk, so each next customer adds at most what the
// one before added: the best prefix ends where the next adds no profit, or
// where the budget or --top stops it.
func sizeCampaign(cfg Config, rows []listRow) Sizing {
	s := Sizing{ContactCost: cfg.ContactCost, SaveRate: cfg.SaveRate, Budget: cfg.Budget, Top: cfg.Top}
	s.Stop = "the whole list is worth contacting"
	for i := range rows {
		if rows[i].control {
			s.Control++
			continue // held out: never contacted, costs nothing
		}
		gain := cfg.SaveRate*rows[i].valueAtRisk - cfg.ContactCost
		switch {
		case gain <= 0:
			s.Stop = fmt.Sprintf("the customer ranked %d would add %.3f: save rate %.2f × value at risk %.2f does not cover the contact cost %.2f",
				i+1, gain, cfg.SaveRate, rows[i].valueAtRisk, cfg.ContactCost)
		case cfg.Top > 0 && s.Contacts >= cfg.Top:
			s.Stop = fmt.Sprintf("--top %d reached", cfg.Top)
		case cfg.Budget > 0 && s.Cost+cfg.ContactCost > cfg.Budget+1e-9:
			s.Stop = fmt.Sprintf("the budget of %.2f is spent (%d × %.2f)", cfg.Budget, s.Contacts, cfg.ContactCost)
		default:
			rows[i].contact = true
			s.Contacts++
			s.Cost += cfg.ContactCost
			s.SavedValue += cfg.SaveRate * rows[i].valueAtRisk
			s.Profit += gain
			continue
		}
		break
	}
	s.Curve = profitCurveSVG(cfg, rows, s.Contacts)
	return s
}

// DefaultControlShare is the share of customers held out as a control group.
const DefaultControlShare = 0.10

// inControl reports whether a customer is in the control group: a hash of
// the seed and the id alone, so the assignment is stable across runs, lists
// and other customers.
func inControl(seed uint64, share float64, id string) bool { return stableShare(seed, share, id) }

// stableShare reports whether id falls in a share of all ids drawn by a
// hash of seed and id alone (FNV-1a 64): the same ids on every run.
func stableShare(seed uint64, share float64, id string) bool {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(id))
	return float64(h.Sum64()>>11)/(1<<53) < share
}

// profitCurveSVG draws the cumulative expected profit by customers
// contacted, with the chosen cut.
func profitCurveSVG(cfg Config, rows []listRow, cut int) template.HTML {
	n := len(rows)
	if n == 0 {
		return ""
	}
	step := max(1, n/400)
	var xy plotter.XYs
	profit := 0.0
	for i := range rows {
		profit += cfg.SaveRate*rows[i].valueAtRisk - cfg.ContactCost
		if i%step == 0 || i == n-1 {
			xy = append(xy, plotter.XY{X: float64(i + 1), Y: profit})
		}
	}
	p := plot.New()
	p.Title.Text = "Expected profit by customers contacted"
	p.X.Label.Text = "customers contacted, in list order"
	p.Y.Label.Text = "expected profit"
	l, err := plotter.NewLine(xy)
	if err != nil {
		return template.HTML(template.HTMLEscapeString("chart unavailable: " + err.Error()))
	}
	l.Color, l.Width = color.RGBA{R: 0x15, G: 0x5e, B: 0xef, A: 0xff}, vg.Points(1.5)
	p.Add(l)
	if cut > 0 {
		c, err := plotter.NewLine(plotter.XYs{{X: float64(cut), Y: p.Y.Min}, {X: float64(cut), Y: p.Y.Max}})
		if err == nil {
			c.Color, c.Dashes = color.RGBA{R: 0xd9, G: 0x2d, B: 0x20, A: 0xff}, []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(c)
			p.Legend.Add(fmt.Sprintf("contact the first %d", cut), c)
			p.Legend.Top = true
		}
	}
	return svgHTML(p, 13*vg.Centimeter, 6.5*vg.Centimeter)
}
