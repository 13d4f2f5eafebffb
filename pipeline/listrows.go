package pipeline

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churn-dev/churn/datasets"
	"github.com/churn-dev/churn/features"
)

// listRow is one customer of a list in memory: the values of a
// datasets.ScoreRow in 104 bytes instead of 264. A list holds one a
// customer from scoring to its files, ten million at ten million
// customers (1.0 GB instead of 2.6 GB). The text columns are codes, the
// dates days, the rank the row's place once ranked, and the model version
// and scoring day the list's; (*list).row gives the ScoreRow.
type listRow struct {
	id, reasons                            string
	prob, pAlive, orders, clv, valueAtRisk float64 // as the list shows them (rounded)
	lastDay                                int64   // the last order, days since 1970-01-01
	nextDay                                int64   // the expected next order, days after the as-of day; noDay when none
	permille, segPermille                  uint16
	rfm, loyalty, satisfaction, action     uint16 // codes in list.texts
	risk, segment                          uint8  // indexes in riskTiers and segmentNames()
	contact, control                       bool
}

// noDay marks a listRow without an expected next order.
const noDay = math.MinInt64

// riskTiers are the risk tiers by level (riskTier's values; riskLevel
// gives a tier's index).
var riskTiers = [...]string{"low", "medium", "high"}

// riskTier maps a churn probability to high / medium / low.
func riskTier(cfg Config, p float64) string { return riskTiers[riskIndex(cfg, p)] }

// riskIndex is riskTier's index in riskTiers.
func riskIndex(cfg Config, p float64) uint8 {
	switch {
	case p >= cfg.RiskHigh:
		return 2
	case p >= cfg.RiskMedium:
		return 1
	}
	return 0
}

// segmentNames gives every value of features.Segment and a map from each
// to its place in them: found by calling it on every pair of scores.
var segmentNames = sync.OnceValues(func() ([]string, map[string]uint8) {
	var names []string
	index := map[string]uint8{}
	for r := math.MinInt8; r <= math.MaxInt8; r++ {
		for f := math.MinInt8; f <= math.MaxInt8; f++ {
			s := features.Segment(int8(r), int8(f))
			if _, ok := index[s]; !ok {
				index[s] = uint8(len(names))
				names = append(names, s)
			}
		}
	}
	return names, index
})

// segmentCode is features.Segment(r, f)'s index in segmentNames.
func segmentCode(r, f int8) uint8 {
	_, index := segmentNames()
	return index[features.Segment(r, f)]
}

// codebook numbers the distinct texts of a list's columns (RFM cells,
// loyalty tiers, satisfaction classes, actions): a code of two bytes a
// row instead of a string's sixteen. Safe for concurrent use while codes
// are made; str reads them once they are.
type codebook struct {
	mu    sync.Mutex
	codes map[string]uint16
	strs  []string
}

// maxCodes is how many distinct texts a codebook holds.
const maxCodes = 1 << 16

func (c *codebook) code(s string) (uint16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.codes[s]; ok {
		return k, nil
	}
	if len(c.strs) == maxCodes {
		return 0, fmt.Errorf("pipeline: a list's text columns hold more than %d distinct values (%q)", maxCodes, s)
	}
	if c.codes == nil {
		c.codes = map[string]uint16{}
	}
	s = strings.Clone(s)
	k := uint16(len(c.strs))
	c.codes[s], c.strs = k, append(c.strs, s)
	return k, nil
}

func (c *codebook) str(k uint16) string { return c.strs[k] }

// textCodes gives the codes of a text column's values (the value of a
// null is "", as datasets.Text reads it).
func textCodes(rec arrow.RecordBatch, name string, cb *codebook) ([]uint16, error) {
	c, ok := datasets.AsText(datasets.Column(rec, name))
	if !ok {
		return nil, fmt.Errorf("pipeline: snapshot has no text column %q", name)
	}
	out := make([]uint16, rec.NumRows())
	seen := map[string]uint16{} // the batch's values: the codebook's lock once each
	for i := range out {
		v := c.Value(i)
		k, ok := seen[v]
		if !ok {
			var err error
			if k, err = cb.code(v); err != nil {
				return nil, err
			}
			seen[strings.Clone(v)] = k
		}
		out[i] = k
	}
	return out, nil
}

// list is the scored customers of one as-of day, from scoring to the files.
type list struct {
	rows              []listRow
	texts             codebook
	version, scoredAt string    // every row's ModelVersion and ScoredAt
	asOf              time.Time // the day nextDay counts from
	ranked            bool      // rows are in list order: the rank is the place
	lastDates         dayMemo
	nextDates         dayMemo
}

func newList(n int, asOf time.Time, version string) *list {
	l := &list{rows: make([]listRow, n), version: version, scoredAt: dateString(asOf), asOf: asOf}
	_, _ = l.texts.code("") // code 0: a new row's texts are empty
	l.lastDates = newDayMemo(1, 0, lastOrderDate)
	l.nextDates = newDayMemo(0, 3*366, l.nextOrderDate)
	return l
}

func lastOrderDate(d int64) string { return dateString(time.Unix(d*86400, 0).UTC()) }

func (l *list) nextOrderDate(d int64) string { return dateString(l.asOf.AddDate(0, 0, int(d))) }

// memoDates makes the table of the rows' last order dates, once they are
// all there: each date's string once, shared by the rows that show it.
func (l *list) memoDates() {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range l.rows {
		lo, hi = min(lo, l.rows[i].lastDay), max(hi, l.rows[i].lastDay)
	}
	l.lastDates = newDayMemo(lo, hi, lastOrderDate)
}

// row fills r with the ScoreRow of row i. Its strings are the list's:
// only a date outside memoDates' table is made anew.
func (l *list) row(i int, r *datasets.ScoreRow) {
	x := &l.rows[i]
	segments, _ := segmentNames()
	*r = datasets.ScoreRow{
		CustomerID:          x.id,
		ChurnProbability:    x.prob,
		RiskTier:            riskTiers[x.risk],
		RiskPermille:        int64(x.permille),
		SegmentRiskPermille: int64(x.segPermille),
		PAlive:              x.pAlive,
		ExpectedOrders:      x.orders,
		PredictedCLV:        x.clv,
		ValueAtRisk:         x.valueAtRisk,
		Segment:             segments[x.segment],
		RFM:                 l.texts.str(x.rfm),
		LoyaltyTier:         l.texts.str(x.loyalty),
		SatisfactionClass:   l.texts.str(x.satisfaction),
		Reasons:             x.reasons,
		SuggestedAction:     l.texts.str(x.action),
		Contact:             x.contact,
		Control:             x.control,
		LastOrderDate:       l.lastDates.get(x.lastDay),
		ModelVersion:        l.version,
		ScoredAt:            l.scoredAt,
	}
	if l.ranked {
		r.Rank = int64(i + 1)
	}
	if x.nextDay != noDay {
		r.ExpectedNextOrderDate = l.nextDates.get(x.nextDay)
	}
}

// scoreRows gives the ScoreRows of rows [lo, hi).
func (l *list) scoreRows(lo, hi int) []datasets.ScoreRow {
	out := make([]datasets.ScoreRow, hi-lo)
	l.fill(out, lo)
	return out
}

// fill fills dst with the ScoreRows of the rows from lo on.
func (l *list) fill(dst []datasets.ScoreRow, lo int) {
	for k := range dst {
		l.row(lo+k, &dst[k])
	}
}

// set makes row i the ScoreRow r (Merge reads the score shards' rows so).
// r must be one the list could hold: a known risk tier and segment, dates
// as the list writes them, the list's model version and scoring day, and
// the rank i+1 when the list is ranked (else none).
func (l *list) set(i int, r *datasets.ScoreRow) error {
	bad := func(what, v string) error {
		return fmt.Errorf("pipeline: customer %q: %s %q is not one a list of %s holds", r.CustomerID, what, v, l.scoredAt)
	}
	x := listRow{id: r.CustomerID, reasons: r.Reasons, prob: r.ChurnProbability, pAlive: r.PAlive, orders: r.ExpectedOrders,
		clv: r.PredictedCLV, valueAtRisk: r.ValueAtRisk, contact: r.Contact, control: r.Control, nextDay: noDay}
	var rank int64
	if l.ranked {
		rank = int64(i + 1)
	}
	switch {
	case r.ModelVersion != l.version:
		return bad("model version", r.ModelVersion)
	case r.ScoredAt != l.scoredAt:
		return bad("scoring day", r.ScoredAt)
	case r.Rank != rank:
		return bad("rank", fmt.Sprint(r.Rank))
	case r.RiskPermille < 0 || r.RiskPermille > math.MaxUint16 || r.SegmentRiskPermille < 0 || r.SegmentRiskPermille > math.MaxUint16:
		return bad("risk permille", fmt.Sprint(r.RiskPermille, r.SegmentRiskPermille))
	}
	x.permille, x.segPermille = uint16(r.RiskPermille), uint16(r.SegmentRiskPermille)
	risk, ok := riskLevel[r.RiskTier]
	if !ok {
		return bad("risk tier", r.RiskTier)
	}
	x.risk = uint8(risk)
	_, segments := segmentNames()
	seg, ok := segments[r.Segment]
	if !ok {
		return bad("segment", r.Segment)
	}
	x.segment = seg
	day, err := time.Parse(time.DateOnly, r.LastOrderDate)
	if x.lastDay = int64(math.Floor(float64(day.Unix()) / 86400)); err != nil || lastOrderDate(x.lastDay) != r.LastOrderDate {
		return bad("last order date", r.LastOrderDate)
	}
	if r.ExpectedNextOrderDate != "" {
		next, err := time.Parse(time.DateOnly, r.ExpectedNextOrderDate)
		from := time.Date(l.asOf.Year(), l.asOf.Month(), l.asOf.Day(), 0, 0, 0, 0, time.UTC)
		if x.nextDay = int64(math.Round(next.Sub(from).Hours() / 24)); err != nil || l.nextOrderDate(x.nextDay) != r.ExpectedNextOrderDate {
			return bad("expected next order date", r.ExpectedNextOrderDate)
		}
	}
	for _, c := range []struct {
		dst *uint16
		v   string
	}{{&x.rfm, r.RFM}, {&x.loyalty, r.LoyaltyTier}, {&x.satisfaction, r.SatisfactionClass}, {&x.action, r.SuggestedAction}} {
		if *c.dst, err = l.texts.code(c.v); err != nil {
			return err
		}
	}
	l.rows[i] = x
	return nil
}
