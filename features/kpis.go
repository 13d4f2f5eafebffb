package features

import (
	"fmt"
	"math"
	"time"

	"github.com/churn-dev/churn/datasets"
)

// KPICell holds the monthly loyalty counts of one segment in one month.
// Customers are counted from the month of their first order on; their
// segment in a month is their programme tier at the start of it.
type KPICell struct {
	Customers   int64 // customers with a first order by the end of the month
	Repeaters   int64 // … of whom with two or more orders by then
	Active      int64 // customers with an order in the month
	New         int64 // … whose first order it was
	Retained    int64 // … who also ordered in the month before
	Reactivated int64 // … who did not order in the month before but earlier
	PrevActive  int64 // customers who ordered in the month before (the retention base)
	Churned     int64 // … who did not order in this month

	Orders, GrossCents, NetCents, RefundCents, Lines, ReturnLines int64

	NPSResponses, Promoters, Passives, Detractors int64
	CSATSum, CESSum                               float64
	CSATResponses, CESResponses                   int64
	Complaints, ReturnEvents                      int64
}

func (c *KPICell) add(o *KPICell) {
	c.Customers += o.Customers
	c.Repeaters += o.Repeaters
	c.Active += o.Active
	c.New += o.New
	c.Retained += o.Retained
	c.Reactivated += o.Reactivated
	c.PrevActive += o.PrevActive
	c.Churned += o.Churned
	c.Orders += o.Orders
	c.GrossCents += o.GrossCents
	c.NetCents += o.NetCents
	c.RefundCents += o.RefundCents
	c.Lines += o.Lines
	c.ReturnLines += o.ReturnLines
	c.NPSResponses += o.NPSResponses
	c.Promoters += o.Promoters
	c.Passives += o.Passives
	c.Detractors += o.Detractors
	c.CSATSum += o.CSATSum
	c.CESSum += o.CESSum
	c.CSATResponses += o.CSATResponses
	c.CESResponses += o.CESResponses
	c.Complaints += o.Complaints
	c.ReturnEvents += o.ReturnEvents
}

// KPIBook accumulates monthly loyalty KPIs per segment and the cohort
// retention matrix from a Builder in KPI mode (Builder.CollectKPIs).
// Months are counted as year×12 + month−1.
type KPIBook struct {
	First, Last int // first and last month (the cutoff's)
	Tiers       []Tier
	// Cells[s][m−First]: segment 0 is all customers, segment 1+r the
	// customers at tier rank r (0 = none) at the start of the month.
	Cells [][]KPICell
	// Cohorts[c][k]: customers first ordering in month First+c who ordered
	// in month First+c+k; CohortSize[c] is the cohort's size.
	Cohorts    [][]int64
	CohortSize []int64

	starts []int64 // monthStarts's table
}

// monthCursor finds the book months of times given in increasing order
// (any order works, out-of-order times cost a scan from the start).
type monthCursor struct {
	starts []int64 // starts[k]: the first µs of the k-th month; one more than the months
	m      int     // the month of the last time, −1 before starts[0]
}

func (c *monthCursor) month(ts int64) int {
	if c.m >= 0 && ts < c.starts[c.m] {
		c.m = -1
	}
	for c.m+2 < len(c.starts) && ts >= c.starts[c.m+1] {
		c.m++
	}
	return c.m
}

// MonthIndex is the month of a time as year×12 + month−1 (UTC).
func MonthIndex(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// monthOfMicros is MonthIndex(time.UnixMicro(us)) in integer arithmetic
// (the civil-from-days algorithm of H. Hinnant, "chrono-Compatible
// Low-Level Date Algorithms"): it runs once per order and line.
func monthOfMicros(us int64) int {
	days := us / usPerDay
	if us%usPerDay < 0 {
		days--
	}
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // day of the 400-year era
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // day of the year from March 1
	mp := (5*doy + 2) / 153                  // month from March: 0..11
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
		y++
	}
	return int(y)*12 + int(m) - 1
}

// monthStarts returns the first µs of each of the book's months and of
// the month after, from a table made once per book (a customer looks at
// every month of the book).
func (b *KPIBook) monthStarts() []int64 {
	if b.starts == nil {
		b.starts = make([]int64, b.Last-b.First+2)
		for k := range b.starts {
			b.starts[k] = MonthStart(b.First + k).UnixMicro()
		}
	}
	return b.starts
}

// MonthStart is the first instant of month index m (UTC).
func MonthStart(m int) time.Time {
	return time.Date(m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
}

// NewKPIBook returns an empty book for the months from first (the month of
// the earliest data) to the cutoff's month, with segments by tiers.
func NewKPIBook(first time.Time, cutoff time.Time, tiers []Tier) (*KPIBook, error) {
	if tiers == nil {
		tiers = DefaultTiers
	}
	f, l := MonthIndex(first), MonthIndex(cutoff)
	if l < f {
		return nil, fmt.Errorf("features: KPI months from %s to %s", first.Format("2006-01"), cutoff.Format("2006-01"))
	}
	if l-f > 1200 {
		return nil, fmt.Errorf("features: KPI months from %s to %s: more than 100 years", first.Format("2006-01"), cutoff.Format("2006-01"))
	}
	n := l - f + 1
	b := &KPIBook{First: f, Last: l, Tiers: tiers, CohortSize: make([]int64, n), Cohorts: make([][]int64, n)}
	b.Cells = make([][]KPICell, len(tiers)+2)
	for s := range b.Cells {
		b.Cells[s] = make([]KPICell, n)
	}
	for c := range b.Cohorts {
		b.Cohorts[c] = make([]int64, n-c)
	}
	return b, nil
}

// Merge adds another book over the same months and tiers (e.g. another bucket's).
func (b *KPIBook) Merge(o *KPIBook) error {
	if o.First != b.First || o.Last != b.Last || len(o.Cells) != len(b.Cells) {
		return fmt.Errorf("features: merging KPI books over different months or tiers")
	}
	for s := range b.Cells {
		for m := range b.Cells[s] {
			b.Cells[s][m].add(&o.Cells[s][m])
		}
	}
	for c := range b.Cohorts {
		b.CohortSize[c] += o.CohortSize[c]
		for k := range b.Cohorts[c] {
			b.Cohorts[c][k] += o.Cohorts[c][k]
		}
	}
	return nil
}

// SegmentName is the name of segment s of the book: "all" or a tier.
func (b *KPIBook) SegmentName(s int) string {
	if s == 0 {
		return "all"
	}
	return TierName(b.Tiers, s-1)
}

// CollectKPIs makes the builder add every customer to book instead of
// writing feature rows (Finish then returns no rows). The book's months
// must cover the data up to the builder's cutoff.
func (b *Builder) CollectKPIs(book *KPIBook) {
	b.kpi, b.kpiOnly = book, true
}

// AlsoCollectKPIs makes the builder add every customer to book as well as
// writing its feature row: one pass for a snapshot and the KPIs of its
// cutoff, the book as CollectKPIs fills it when the builder is unlabelled.
func (b *Builder) AlsoCollectKPIs(book *KPIBook) {
	b.kpi, b.kpiOnly = book, false
}

// kpiScratch are the per-customer monthly arrays of the KPI pass.
type kpiScratch struct {
	orders, gross, net, refunds, lines, returns []int64
	seg                                         []int
}

// addKPIs adds one customer (orders by the cutoff, sorted; lines; feedback) to the book.
func (b *Builder) addKPIs(obs []order, lines []line, fb []datasets.Feedback) {
	book, s := b.kpi, &b.kpiScratch
	first, last := monthOfMicros(obs[0].ts)-book.First, book.Last-book.First
	if first < 0 {
		first = 0 // data before the book's first month: counted from then
	}
	n := last - first + 1
	starts := book.monthStarts()[first : first+n+1] // the customer's months and the one after
	reset := func(v []int64) []int64 {
		v = v[:0]
		for range n {
			v = append(v, 0)
		}
		return v
	}
	s.orders, s.gross, s.net, s.refunds, s.lines, s.returns = reset(s.orders), reset(s.gross), reset(s.net), reset(s.refunds), reset(s.lines), reset(s.returns)
	at := monthCursor{starts: starts, m: -1}
	for _, o := range obs {
		if m := at.month(o.ts); m >= 0 {
			s.orders[m]++
		}
	}
	at = monthCursor{starts: starts, m: -1}
	for _, l := range lines {
		if l.ts >= b.cutoffEnd || l.void&voidAtCutoff != 0 {
			continue
		}
		m := at.month(l.ts)
		if m < 0 {
			continue
		}
		s.net[m] += l.amount
		if l.amount >= 0 {
			s.gross[m] += l.amount
			s.lines[m]++
		} else {
			s.refunds[m] -= l.amount
			s.returns[m]++
		}
	}
	// The tier at the start of each month, over the tier window before it.
	s.seg = s.seg[:0]
	window := int64(b.cfg.TierWindow) * usPerDay
	var lo, hi, oLo, oHi int // line and order pointers: [lo, hi) and [oLo, oHi) are in the window
	var sum int64            // net amount of lines [lo, hi)
	for m := range n {
		end := starts[m]
		for hi < len(lines) && lines[hi].ts < end {
			if l := lines[hi]; l.ts < b.cutoffEnd && l.void&voidAtCutoff == 0 {
				sum += l.amount
			}
			hi++
		}
		for lo < hi && lines[lo].ts < end-window {
			if l := lines[lo]; l.ts < b.cutoffEnd && l.void&voidAtCutoff == 0 {
				sum -= l.amount
			}
			lo++
		}
		for oHi < len(obs) && obs[oHi].ts < end {
			oHi++
		}
		for oLo < oHi && obs[oLo].ts < end-window {
			oLo++
		}
		s.seg = append(s.seg, 1+tierRank(book.Tiers, sum, int64(oHi-oLo)))
	}
	// Monthly counts, in "all" and in the month's segment.
	var cum int64
	c := first
	book.CohortSize[c]++
	for m := range n {
		cum += s.orders[m]
		prev := m > 0 && s.orders[m-1] > 0
		for _, seg := range [2]int{0, s.seg[m]} {
			cell := &book.Cells[seg][first+m]
			cell.Customers++
			if cum >= 2 {
				cell.Repeaters++
			}
			if s.orders[m] > 0 {
				cell.Active++
				switch {
				case m == 0:
					cell.New++
				case prev:
					cell.Retained++
				default:
					cell.Reactivated++
				}
			}
			if prev {
				cell.PrevActive++
				if s.orders[m] == 0 {
					cell.Churned++
				}
			}
			if s.orders[m]|s.lines[m]|s.returns[m] == 0 {
				continue // no order and no line this month: the sums below are all zero
			}
			cell.Orders += s.orders[m]
			cell.GrossCents += s.gross[m]
			cell.NetCents += s.net[m]
			cell.RefundCents += s.refunds[m]
			cell.Lines += s.lines[m]
			cell.ReturnLines += s.returns[m]
		}
		if s.orders[m] > 0 {
			book.Cohorts[c][m]++
		}
	}
	at = monthCursor{starts: starts, m: -1}
	for _, f := range fb {
		if f.TS >= b.cutoffEnd {
			break
		}
		m := at.month(f.TS)
		if m < 0 {
			continue // before the customer's first order
		}
		for _, seg := range [2]int{0, s.seg[m]} {
			cell := &book.Cells[seg][first+m]
			switch f.Kind {
			case "nps":
				cell.NPSResponses++
				switch {
				case f.Score >= 9:
					cell.Promoters++
				case f.Score >= 7:
					cell.Passives++
				default:
					cell.Detractors++
				}
			case "csat":
				cell.CSATSum += f.Score
				cell.CSATResponses++
			case "ces":
				cell.CESSum += f.Score
				cell.CESResponses++
			case "complaint":
				cell.Complaints++
			case "return":
				cell.ReturnEvents++
			}
		}
	}
}

// KPI is one row of the KPI book: a month and a segment with its rates.
type KPI struct {
	Month    string // YYYY-MM
	Segment  string
	Complete bool // false for the cutoff's month when the cutoff is not its last day
	KPICell
	RetentionRate, ChurnRate   float64 // Retained / PrevActive, Churned / PrevActive; NaN without a base
	RepeatPurchaseRate         float64 // Repeaters / Customers
	PurchaseFrequency          float64 // Orders / Active
	AvgOrderValue              float64 // gross / orders, currency units
	RevenuePerCustomer         float64 // net / active, currency units
	NPS                        float64 // % promoters − % detractors, NaN without answers
	CSATMean, CESMean          float64
	ComplaintRate              float64 // complaints per active customer
	ReturnRate, ReturnLineRate float64 // refunds / gross amount; returned lines / purchased lines
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Rows returns the book's KPIs, month by month, "all" first then the
// tiers from none up; segments without customers in a month are left out.
func (b *KPIBook) Rows(cutoff time.Time) []KPI {
	c := cutoff.UTC()
	lastComplete := c.AddDate(0, 0, 1).Day() == 1
	var out []KPI
	for m := b.First; m <= b.Last; m++ {
		for s := range b.Cells {
			cell := b.Cells[s][m-b.First]
			if cell.Customers == 0 && s > 0 {
				continue
			}
			k := KPI{Month: MonthStart(m).Format("2006-01"), Segment: b.SegmentName(s), Complete: m < b.Last || lastComplete, KPICell: cell}
			k.RetentionRate = ratio(float64(cell.Retained), float64(cell.PrevActive))
			k.ChurnRate = ratio(float64(cell.Churned), float64(cell.PrevActive))
			k.RepeatPurchaseRate = ratio(float64(cell.Repeaters), float64(cell.Customers))
			k.PurchaseFrequency = ratio(float64(cell.Orders), float64(cell.Active))
			k.AvgOrderValue = ratio(float64(cell.GrossCents)/100, float64(cell.Orders))
			k.RevenuePerCustomer = ratio(float64(cell.NetCents)/100, float64(cell.Active))
			k.NPS = ratio(100*float64(cell.Promoters-cell.Detractors), float64(cell.NPSResponses))
			k.CSATMean = ratio(cell.CSATSum, float64(cell.CSATResponses))
			k.CESMean = ratio(cell.CESSum, float64(cell.CESResponses))
			k.ComplaintRate = ratio(float64(cell.Complaints), float64(cell.Active))
			k.ReturnRate = ratio(float64(cell.RefundCents), float64(cell.GrossCents))
			k.ReturnLineRate = ratio(float64(cell.ReturnLines), float64(cell.Lines))
			out = append(out, k)
		}
	}
	return out
}
